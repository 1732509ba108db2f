#!/usr/bin/python3
"""Writes configs/models/*.json from the model architectures below and the per-head statistics
in ../shared/calibration (DuoAttention gates, MInference patterns, DoubleSparse outlier
channels). Run from the repository root:

    /usr/bin/python3 workloads/tools/make_model_presets.py ../shared/calibration configs/models

The presets are committed; this script documents (and reproduces) where every number came from.
Standard library only.
"""
import json
import os
import re
import sys

CAL = sys.argv[1] if len(sys.argv) > 1 else "../shared/calibration"
OUT = sys.argv[2] if len(sys.argv) > 2 else "configs/models"
OUTLIER_RANK = 16  # DoubleSparse's default heavy-channel count for head dim 128 (1/8 of the channels)

# MInference budget classes seen in its Llama-3.1-8B-Instruct pattern file, as letters.
BUDGET_LETTERS = {(1000, 6096): "A", (100, 800): "B", (500, 700): "C", (100, 750): "D",
                  (30, 800): "S", (3500, 100): "V"}
BUDGET_KIND = {"A": "mixed", "B": "mixed", "C": "mixed", "D": "mixed", "S": "slash",
               "V": "vertical"}

HF = "Hugging Face config.json of"


def duo(model_dir, note):
    path = os.path.join(CAL, "duo_attention", model_dir, "full_attention_heads.tsv")
    gates = [[float(x) for x in line.split()] for line in open(path) if line.strip()]
    cfg = json.load(open(os.path.join(CAL, "duo_attention", model_dir, "config.json")))
    return {
        "source": f"mit-han-lab/duo-attention attn_patterns/{model_dir}/full_attention_heads.tsv "
                  f"(MIT), rounded to 4 digits; learned gates with sink {cfg['sink_size']} "
                  f"+ recent {cfg['recent_size']} tokens as the streaming alternative. {note}",
        "unit": "gate in [0, 1]: near 1 = the KV head needs full (retrieval) attention",
        "threshold": cfg["threshold"],
        "gates": [[round(g, 4) for g in row] for row in gates],
    }


def minference(file_name):
    d = json.load(open(os.path.join(CAL, "minference", file_name)))
    layers = []
    for layer in d:
        s = ""
        for h in range(len(layer)):
            _, v, sl, _ = layer[str(h)]
            s += BUDGET_LETTERS[(v, sl)]
        layers.append(s)
    budgets = {k: {"vertical": v, "slash": s, "kind": BUDGET_KIND[k]}
               for (v, s), k in sorted(BUDGET_LETTERS.items(), key=lambda x: x[1])}
    return {
        "source": f"microsoft/MInference {file_name} (MIT): every head is vertical_and_slash; the "
                  "letter names the head's (vertical, slash) budget pair. kind is this project's "
                  "reading of the budget: vertical >> slash = vertical-dominant, slash >> vertical "
                  "= slash-dominant, else mixed.",
        "budgets": budgets,
        "layers": layers,
    }


def doublesparse(file_name, note):
    d = json.load(open(os.path.join(CAL, "doublesparse", file_name)))
    n = 0
    while f"model.layers.{n}.self_attn.k_proj" in d:
        n += 1
    chans = [[row[:OUTLIER_RANK] for row in d[f"model.layers.{l}.self_attn.k_proj"]]
             for l in range(n)]
    return {
        "source": f"andy-yang-1/DoubleSparse config/{file_name} (MIT): the top {OUTLIER_RANK} of "
                  "the 128 k_proj channels ranked by outlier magnitude, per KV head, pre-RoPE "
                  f"channel indices (Hugging Face rotate-half layout). {note}",
        "channels": chans,
    }


def rope_llama31():
    return {"source": f"{HF} meta-llama/Llama-3.1-8B(-Instruct) and -70B: rope_theta 500000, "
                      "rope_scaling rope_type llama3 (factor 8, low_freq_factor 1, "
                      "high_freq_factor 4, original_max_position_embeddings 8192); HF "
                      "rotate-half channel pairing.",
            "theta": 500000.0, "layout": "half",
            "scaling": {"type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                        "high_freq_factor": 4.0, "original_max_position": 8192}}


MODELS = [
    {
        "file": "llama-3.1-8b",
        "name": "Llama-3.1-8B",
        "description": "Meta Llama-3.1-8B(-Instruct): 32 layers, grouped-query attention 32/8, "
                       "head dim 128, 128K context. The calibration target of the generator.",
        "architecture": {"source": f"{HF} meta-llama/Llama-3.1-8B: num_hidden_layers 32, "
                                   "num_attention_heads 32, num_key_value_heads 8, hidden 4096 "
                                   "(head dim 128), max_position_embeddings 131072.",
                         "layers": 32, "q_heads": 32, "kv_heads": 8, "head_dim": 128,
                         "max_context": 131072},
        "rope": rope_llama31(),
        "tidal": (13, "TidalDecode (arXiv 2410.05076) re-selects at layer 13 for Llama-3 models "
                      "(DESIGN.md 3)."),
        "duo": ("Meta-Llama-3.1-8B-Instruct", "This model."),
        "minference": "Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json",
        "doublesparse": ("meta-llama__Llama-3.1-8B-Instruct.json", "This model."),
    },
    {
        "file": "llama-3.1-70b",
        "name": "Llama-3.1-70B",
        "description": "Meta Llama-3.1-70B(-Instruct): 80 layers, grouped-query attention 64/8, "
                       "head dim 128, 128K context. No per-head statistics are published in our "
                       "sources; the generator draws head roles by seed.",
        "architecture": {"source": f"{HF} meta-llama/Llama-3.1-70B: num_hidden_layers 80, "
                                   "num_attention_heads 64, num_key_value_heads 8, hidden 8192 "
                                   "(head dim 128), max_position_embeddings 131072.",
                         "layers": 80, "q_heads": 64, "kv_heads": 8, "head_dim": 128,
                         "max_context": 131072},
        "rope": rope_llama31(),
        "tidal": (32, "Not published for 70B; the 8B's layer 13 of 32 scaled to 80 layers."),
    },
    {
        "file": "llama-2-7b",
        "name": "Llama-2-7B",
        "description": "Meta Llama-2-7B: 32 layers, multi-head attention 32/32, head dim 128, "
                       "4K context.",
        "architecture": {"source": f"{HF} meta-llama/Llama-2-7b-hf: num_hidden_layers 32, "
                                   "num_attention_heads 32, num_key_value_heads 32, hidden 4096 "
                                   "(head dim 128), max_position_embeddings 4096.",
                         "layers": 32, "q_heads": 32, "kv_heads": 32, "head_dim": 128,
                         "max_context": 4096},
        "rope": {"source": f"{HF} meta-llama/Llama-2-7b-hf: rope_theta 10000, no scaling; HF "
                           "rotate-half channel pairing.",
                 "theta": 10000.0, "layout": "half", "scaling": {"type": "none"}},
        "tidal": (7, "TidalDecode re-selects at layer 7 for Llama-2-7B (DESIGN.md 3)."),
        "duo": ("Llama-2-7B-32K-Instruct",
                "Proxy: DuoAttention publishes no gates for the base Llama-2-7B; these are of "
                "Together's Llama-2-7B-32K-Instruct, a fine-tune of the same architecture."),
        "doublesparse": ("lmsys__longchat-7b-v1.5-32k.json",
                         "Proxy: no file for the base Llama-2-7B; LongChat-7B-v1.5-32K is a "
                         "fine-tune of it."),
    },
    {
        "file": "mistral-7b-v0.3",
        "name": "Mistral-7B-v0.3",
        "description": "Mistral-7B-v0.3 (-Instruct): 32 layers, grouped-query attention 32/8, "
                       "head dim 128, 32K context, no sliding window.",
        "architecture": {"source": f"{HF} mistralai/Mistral-7B-v0.3: num_hidden_layers 32, "
                                   "num_attention_heads 32, num_key_value_heads 8, head_dim 128, "
                                   "max_position_embeddings 32768, sliding_window null.",
                         "layers": 32, "q_heads": 32, "kv_heads": 8, "head_dim": 128,
                         "max_context": 32768},
        "rope": {"source": f"{HF} mistralai/Mistral-7B-v0.3: rope_theta 1000000, no scaling; HF "
                           "rotate-half channel pairing.",
                 "theta": 1000000.0, "layout": "half", "scaling": {"type": "none"}},
        "tidal": (13, "Not published for Mistral; the Llama-3 value (same depth) is used."),
        "duo": ("Mistral-7B-Instruct-v0.3", "This model."),
    },
    {
        "file": "longchat-7b-v1.5-32k",
        "name": "LongChat-7B-v1.5-32K",
        "description": "LMSYS LongChat-7B-v1.5-32K: Llama-2-7B fine-tuned to 32K with linear "
                       "RoPE scaling 8; multi-head attention 32/32, head dim 128.",
        "architecture": {"source": f"{HF} lmsys/longchat-7b-v1.5-32k: num_hidden_layers 32, "
                                   "num_attention_heads 32, num_key_value_heads 32, hidden 4096 "
                                   "(head dim 128), max_position_embeddings 32768.",
                         "layers": 32, "q_heads": 32, "kv_heads": 32, "head_dim": 128,
                         "max_context": 32768},
        "rope": {"source": f"{HF} lmsys/longchat-7b-v1.5-32k: rope_theta 10000, rope_scaling "
                           "linear factor 8; HF rotate-half channel pairing.",
                 "theta": 10000.0, "layout": "half",
                 "scaling": {"type": "linear", "factor": 8.0}},
        "tidal": (7, "TidalDecode's Llama-2-7B value (same architecture)."),
        "duo": ("Llama-2-7B-32K-Instruct",
                "Proxy: no gates for LongChat; these are of another 32K fine-tune of Llama-2-7B."),
        "doublesparse": ("lmsys__longchat-7b-v1.5-32k.json", "This model."),
    },
    {
        "file": "stories260k",
        "name": "stories260K",
        "description": "llama2.c tinyllamas stories260K (MIT): the model of the shared traces "
                       "(../shared/traces). 5 layers, grouped-query attention 8/4, head dim 8, "
                       "512-token context.",
        "architecture": {"source": "../shared/traces/*/meta.json and ../shared/README.md: 5 "
                                   "layers, 8 query heads, 4 KV heads, head dim 8, 512 tokens.",
                         "layers": 5, "q_heads": 8, "kv_heads": 4, "head_dim": 8,
                         "max_context": 512},
        "rope": {"source": "../shared/traces/*/meta.json: llama2.c RoPE, theta 10000, which "
                           "rotates interleaved channel pairs (2i, 2i+1).",
                 "theta": 10000.0, "layout": "interleaved", "scaling": {"type": "none"}},
        "tidal": (3, "Toy model: the first layer after the selection layer 2."),
    },
]


def main():
    os.makedirs(OUT, exist_ok=True)
    for m in MODELS:
        profile = {
            "source": "Per-head attention statistics published for this model; absent entries "
                      "are drawn by seed by the generator (configs/workloads/synthetic.json).",
            "tidal_reselection_layer": m["tidal"][0],
            "notes": {"tidal_reselection_layer": m["tidal"][1]},
        }
        if "duo" in m:
            profile["retrieval_gates"] = duo(*m["duo"])
        if "minference" in m:
            profile["head_patterns"] = minference(m["minference"])
        if "doublesparse" in m:
            profile["key_outlier_channels"] = doublesparse(*m["doublesparse"])
        preset = {"name": m["name"], "description": m["description"],
                  "architecture": m["architecture"], "rope": m["rope"],
                  "attention_profile": profile}
        text = json.dumps(preset, indent=2)
        # Keep the big tables readable: one row (layer) per line.
        path = os.path.join(OUT, m["file"] + ".json")
        with open(path, "w") as f:
            f.write(compact_rows(text) + "\n")
        print("wrote", path)


def compact_rows(text):
    """json.dumps(indent=2) puts every number on its own line; put each innermost array (a table
    row) on one line instead."""
    return re.sub(r"\[\s*([^\[\]{}\"]*?)\s*\]",
                  lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1)) + "]", text)


if __name__ == "__main__":
    main()
