"""Operator tooling: bringing a farm's control plane up (`simian init`) and the embedded local stack
(`simian up / down / status`). Nothing here runs inside flows; that is `simian.orchestration`."""
