"""Names shared by the flows, prefect.yaml and `simian init` (one place to change them)."""

FLOW_RANGE = "simian"
FLOW_CHUNK = "simian-chunk"
DEPLOYMENT_RANGE = f"{FLOW_RANGE}/render-range"
DEPLOYMENT_CHUNK = f"{FLOW_CHUNK}/render-chunk"
RENDER_POOL = "gpu"
CONTROL_POOL = "simian-control"
RENDER_LIMIT = "simian-render"  # global concurrency limit: GPU render slots in the farm
COMMIT_LIMIT = "simian-hf-commit"  # global concurrency limit: Hugging Face commits
RESULT_BLOCK_TYPE = "simian-redis-results"  # prefect-redis RedisDatabase, hardened (redis_store.py)
RESULT_BLOCK = "simian-results"
ZOMBIE_AUTOMATION = "simian: crash zombie flow runs"
FARM_VARIABLE = "simian-farm"  # Prefect variable: the farm id and the Redis `simian init` set it up with
FARM_ID_KEY = "simian:farm-id"  # the same id in the farm's Redis
