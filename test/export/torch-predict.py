"""Loads pytorch exports (model.py + weights.safetensors) and prints their predictions as JSON.

Usage: python3 torch-predict.py jobs.json; jobs: [{"dir": ..., "x": [[...]]}].
"""
import importlib.util
import json
import sys

import torch

results = []
for job in json.load(open(sys.argv[1])):
    spec = importlib.util.spec_from_file_location(f"model_{len(results)}", f"{job['dir']}/model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.load_weights(module.MtgraphModel(), job.get("weights", f"{job['dir']}/weights.safetensors"))
    model.eval()
    with torch.no_grad():
        out = model(torch.tensor(job["x"], dtype=torch.float32))
    result = {"dir": job["dir"], "tasks": list(out.keys()), "values": {k: v.reshape(-1).tolist() for k, v in out.items()}}
    if job.get("penalty"):
        # train.py's coupling penalties on these weights (train.py imports this folder's model.py:
        # forget an earlier job's `model` module, or its LAPLACIAN would be read instead).
        sys.modules.pop("model", None)
        spec = importlib.util.spec_from_file_location(f"train_{len(results)}", f"{job['dir']}/train.py")
        train = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(train)
        result["penalty"] = train.penalty(model).item()
    results.append(result)
print(json.dumps(results))
