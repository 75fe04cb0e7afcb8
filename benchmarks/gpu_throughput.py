"""GPU throughput of subject runs against the device's peak: transformers (bf16) and vLLM; prints, asserts nothing.

No weights can be downloaded on the lent GPU machines, so the model is a *randomly initialised*
network of a real architecture built from its config (Llama 3.2 1B by default, or Llama 3.1 8B):
speed depends on the shapes, not on the values of the weights. Measured:

* prefill — tokens/s of batched forward passes over random prompts, and the model FLOP/s this
  implies (2 × parameters × tokens + attention) as a fraction of the device's dense bf16 peak;
* decode  — generated tokens/s at a given batch size, and the weight-read bandwidth it implies
  (parameter bytes × decode steps / s) as a fraction of the device's memory bandwidth;
* vLLM    — the same model saved to a temporary folder and served offline from token ids
  (``skip_tokenizer_init``): prompt and generated tokens/s (skipped, saying so, when vLLM is absent).

    python benchmarks/gpu_throughput.py [--arch llama-3.2-1b|llama-3.1-8b] [--batch 32] [--prompt 512] [--new 128]
    python benchmarks/gpu_throughput.py --device cpu --tiny      # a smoke run of the same code on a CPU
"""
from __future__ import annotations

import argparse
import tempfile
import time

import torch
from transformers import AutoModelForCausalLM, LlamaConfig

#: Real architectures, from their published configs.
ARCHITECTURES: dict[str, dict] = {
    "llama-3.2-1b": dict(vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                         num_attention_heads=32, num_key_value_heads=8, tie_word_embeddings=True),
    "llama-3.1-8b": dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                         num_attention_heads=32, num_key_value_heads=8, tie_word_embeddings=False),
}
COMMON = dict(max_position_embeddings=8192, rope_theta=500000.0, rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2)
#: (dense bf16 FLOP/s, memory bytes/s) by device-name fragment; the first fragment found in the name wins.
PEAKS: tuple[tuple[str, float, float], ...] = (
    ("H100 PCIe", 756e12, 2.0e12), ("H100", 989e12, 3.35e12), ("H200", 989e12, 4.8e12),
    ("A100", 312e12, 2.0e12), ("L40S", 362e12, 0.864e12), ("L4", 121e12, 0.3e12),
)


def build_config(arch: str, tiny: bool) -> LlamaConfig:
    shapes = dict(ARCHITECTURES[arch])
    if tiny:
        shapes.update(hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, vocab_size=32000)
    return LlamaConfig(**shapes, **COMMON)


def peaks(device: torch.device) -> tuple[str, float | None, float | None]:
    if device.type != "cuda":
        return "cpu", None, None
    name = torch.cuda.get_device_name(device)
    for fragment, flops, bandwidth in PEAKS:
        if fragment in name:
            return name, flops, bandwidth
    return name, None, None


def share(value: float, peak: float | None) -> str:
    return f" = {100 * value / peak:.1f} % of peak" if peak else " (peak unknown for this device)"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def prefill_flops(config: LlamaConfig, params: int, batch: int, length: int) -> float:
    """Forward FLOPs: 2 per multiplied weight per token, plus causal attention scores and values (QK^T and AV)."""
    attention = 2 * 2 * config.num_hidden_layers * batch * length * length * config.hidden_size / 2
    return 2.0 * params * batch * length + attention


def bench_transformers(config: LlamaConfig, device: torch.device, args: argparse.Namespace) -> None:
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=dtype).to(device).eval()
    params = sum(p.numel() for p in model.parameters())
    name, peak_flops, peak_bandwidth = peaks(device)
    print(f"device {name}; {args.arch}{' (tiny)' if args.tiny else ''}: {params / 1e9:.2f} B parameters, {dtype}")
    prompts = torch.randint(3, config.vocab_size, (args.batch, args.prompt), device=device)
    with torch.inference_mode():
        model(prompts[:, :16])  # warm-up: kernels, allocator
        synchronize(device)
        started = time.perf_counter()
        for _ in range(args.repeats):
            model(prompts)
        synchronize(device)
        seconds = (time.perf_counter() - started) / args.repeats
        lookup_only = 0 if config.tie_word_embeddings else model.get_input_embeddings().weight.numel()
        achieved = prefill_flops(config, params - lookup_only, args.batch, args.prompt) / seconds
        print(f"transformers prefill  batch {args.batch} × {args.prompt}: {args.batch * args.prompt / seconds:,.0f} "
              f"tokens/s, {achieved / 1e12:.1f} TFLOP/s{share(achieved, peak_flops)}")
        started = time.perf_counter()
        model.generate(prompts, attention_mask=torch.ones_like(prompts), max_new_tokens=args.new,
                       min_new_tokens=args.new, do_sample=False, pad_token_id=0)
        synchronize(device)
        seconds = time.perf_counter() - started
    bytes_read = params * torch.finfo(dtype).bits / 8 * args.new / seconds
    print(f"transformers generate batch {args.batch}, {args.new} new tokens: {args.batch * args.new / seconds:,.0f} "
          f"tokens/s (prefill included), weights read at {bytes_read / 1e9:.0f} GB/s{share(bytes_read, peak_bandwidth)}")
    del model
    if device.type == "cuda":
        torch.cuda.empty_cache()


def bench_vllm(config: LlamaConfig, args: argparse.Namespace) -> None:
    try:
        from vllm import LLM, SamplingParams
        from vllm.inputs import TokensPrompt
    except ImportError:
        print("vLLM: not installed here (pip install 'assess[vllm]'); skipped")
        return
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        del model
        llm = LLM(model=folder, skip_tokenizer_init=True, dtype="bfloat16", gpu_memory_utilization=0.85,
                  max_model_len=args.prompt + args.new, seed=0)
        generator = torch.Generator().manual_seed(0)
        prompts = [TokensPrompt(prompt_token_ids=torch.randint(3, config.vocab_size, (args.prompt,),
                                                               generator=generator).tolist())
                   for _ in range(args.vllm_requests)]
        sampling = SamplingParams(max_tokens=args.new, min_tokens=args.new, ignore_eos=True, temperature=0.0,
                                  detokenize=False)
        llm.generate(prompts[:2], sampling)  # warm-up (CUDA graphs)
        started = time.perf_counter()
        outputs = llm.generate(prompts, sampling)
        seconds = time.perf_counter() - started
    generated = sum(len(o.outputs[0].token_ids) for o in outputs)
    print(f"vLLM {len(prompts)} requests × ({args.prompt} prompt + {args.new} new): "
          f"{len(prompts) / seconds:.1f} requests/s, {generated / seconds:,.0f} generated tokens/s, "
          f"{(generated + len(prompts) * args.prompt) / seconds:,.0f} total tokens/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), default="llama-3.2-1b")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tiny", action="store_true", help="shrink the model (a CPU smoke run of this script)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--prompt", type=int, default=512)
    parser.add_argument("--new", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--vllm-requests", type=int, default=256)
    args = parser.parse_args()
    device = torch.device(args.device)
    config = build_config(args.arch, args.tiny)
    bench_transformers(config, device, args)
    if device.type == "cuda":
        bench_vllm(config, args)
    else:
        print("vLLM: needs a GPU; skipped")


if __name__ == "__main__":
    main()
