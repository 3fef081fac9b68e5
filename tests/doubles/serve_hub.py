"""Run the Hugging Face Hub TEST DOUBLE as a standalone server, to try publishing by hand.

    python -m tests.doubles.serve_hub --port 8900 --token hf_local_test --root /tmp/hub-double

Then put the printed lines in `.env` (HF_HUB_DISABLE_XET=1 is needed: the double speaks LFS only)
and run `prefect deployment run simian/render-range -p start=0 -p end=6`. It is not the Hub.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tests.doubles.hub import HubTestDouble


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--token", default="hf_local_test")
    parser.add_argument("--root", type=Path, default=Path("/tmp/hub-double"))
    args = parser.parse_args()
    hub = HubTestDouble(args.root, token=args.token).start(args.port)
    print(f"Hub test double at {hub.url} (files in {args.root}); for .env:")
    print(f"HF_ENDPOINT={hub.url}\nHF_TOKEN={args.token}\nHF_REPO_ID=local/simian-demo", flush=True)
    print("HF_HUB_DISABLE_XET=1", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        hub.stop()


if __name__ == "__main__":
    main()
