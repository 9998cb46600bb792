"""The vLLM offline engine: the whole batch submitted at once, finished samples handed back one by one."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import Field

from effbench.backends.codec import TokenizerCodec
from effbench.backends.engine_log import engine_output
from effbench.backends.usage import Meter
from effbench.errors import BackendError
from effbench.schema import Strict
from effbench.types import Answer, Completion, EngineUse, Request, Skipped, Timing

if TYPE_CHECKING:
    from effbench.backends.replicas import ReplicaPool

CONTINUES = True  # continues a completion from its token ids (Request.continue_after): budget forcing needs it


class Options(Strict):
    revision: str | None = Field(None, description="model revision (hub models)")
    dtype: Literal["auto", "half", "float16", "bfloat16", "float", "float32"] = Field("auto", description="weights dtype")
    max_model_len: int | None = Field(None, ge=1, description="context length (default: the model's)")
    tensor_parallel_size: int = Field(1, ge=1, description="GPUs per model replica")
    data_parallel_size: int = Field(
        1, ge=1, description="engine replicas, each of tensor_parallel_size devices, fed from one queue (as Ray actors)"
    )
    ray_address: str | None = Field(
        None, description="a Ray cluster to place the replicas on (default: $RAY_ADDRESS, else a Ray instance on this machine)"
    )
    distributed_executor_backend: str | None = Field(None, description="mp or ray")
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1, description="share of GPU memory vLLM may take")
    kv_cache_gb: float | None = Field(None, gt=0, description="KV cache size in GiB (the CPU engine needs one: default 1)")
    max_num_seqs: int | None = Field(None, ge=1, description="sequences decoded at once (default: vLLM's)")
    enforce_eager: bool = Field(False, description="skip graph capture / compilation (faster start, slower decode)")
    enable_prefix_caching: bool = Field(True, description="reuse the shared prompt prefix across samples")
    enable_chunked_prefill: bool | None = Field(
        None, description="split long prefills across steps (default: vLLM's; off on CPU, where seeded sampling fails with it)"
    )
    trust_remote_code: bool = Field(False, description="allow the model's own code")
    verbose: bool = Field(False, description="the engine's start-up lines on the terminal, not in the run's engine.log")


def create(config, options: Options) -> VLLMBackend | ReplicaPool:
    """One engine in this process; or, with several replicas or a Ray cluster named, replicas as Ray actors."""
    address = options.ray_address or os.environ.get("RAY_ADDRESS") or None
    if options.data_parallel_size > 1 or address:
        from effbench.backends.replicas import ReplicaPool

        return ReplicaPool(config.model, options, template_kwargs=template_kwargs(config), address=address)
    log = None if options.verbose else Path(config.out) / config.run_name / "engine.log"
    return VLLMBackend(config.model, options, template_kwargs=template_kwargs(config), log=log)


def template_kwargs(config) -> dict[str, Any]:
    """What the chat template is given beside the messages: the keys the user set that templates take."""
    given = {"enable_thinking": config.enable_thinking, "reasoning_effort": config.reasoning_effort}
    return {key: value for key, value in given.items() if value is not None}


def _looks_local(model: str) -> bool:
    return model.startswith((".", "/", "~")) or Path(model).exists() or model.count("/") > 1


class VLLMBackend:
    def __init__(self, model: str, options: Options, *, template_kwargs: dict[str, Any] | None = None, log: Path | None = None):
        """`log`: where the engine's start-up output goes (None: the terminal)."""
        if _looks_local(model) and not Path(model).expanduser().is_dir():
            raise BackendError(f"model folder {model} does not exist; give a local model folder or a hub id")
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")  # its warnings drown the progress bars; set it to see them
        with engine_output(log):
            self._start(model, options, template_kwargs, log)

    def _start(self, model: str, options: Options, template_kwargs: dict[str, Any] | None, log: Path | None) -> None:
        try:
            from vllm import LLM
            from vllm.platforms import current_platform
        except ImportError:
            raise BackendError("vLLM is not installed: pip install 'effbench[vllm]' (GPU) or 'effbench[cpu]'") from None
        on_cpu = current_platform.is_cpu()
        if on_cpu:  # the engine core in this process, not a third one: a CPU engine starts in half the time (25 s, not 55)
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        if on_cpu and options.tensor_parallel_size == 1:
            # vLLM's automatic binding keeps a core for its scheduler and decodes on the rest: one core of two
            os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", ",".join(map(str, sorted(os.sched_getaffinity(0)))))
        kv_gb = options.kv_cache_gb or (1.0 if on_cpu else None)
        chunked_prefill = options.enable_chunked_prefill
        if chunked_prefill is None and on_cpu:
            chunked_prefill = False  # vLLM CPU rewinds a CPU generator's offset after a partial prefill, and dies
        self.model, self.options = model, options
        self._template_kwargs = template_kwargs or {}
        engine_args: dict[str, Any] = {
            "model": str(Path(model).expanduser()) if Path(model).expanduser().is_dir() else model,
            "revision": options.revision,
            "dtype": options.dtype,
            "max_model_len": options.max_model_len,
            "tensor_parallel_size": options.tensor_parallel_size,
            "distributed_executor_backend": options.distributed_executor_backend,
            "gpu_memory_utilization": options.gpu_memory_utilization,
            "kv_cache_memory_bytes": int(kv_gb * (1 << 30)) if kv_gb else None,
            "enforce_eager": options.enforce_eager,
            "enable_prefix_caching": options.enable_prefix_caching,
            "enable_chunked_prefill": chunked_prefill,
            "trust_remote_code": options.trust_remote_code,
            "disable_log_stats": False,  # each request's timings (its first token's, its last's)
        }
        if options.max_num_seqs:
            engine_args["max_num_seqs"] = options.max_num_seqs
        try:
            self.llm = LLM(**engine_args)
        except Exception as exc:
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            where = f" (its start-up output: {log})" if log else ""
            raise BackendError(f"model {model!r} could not be loaded by vLLM: {first_line}{where}") from None
        self.tokenizer = self.llm.get_tokenizer()
        self.codec = TokenizerCodec(self.tokenizer)
        self._running: dict[str, tuple[int, Request]] = {}
        self._skipped: list[tuple[int, Skipped]] = []
        self.meter = Meter(["engine"])

    def codec_for(self, completion: Completion) -> TokenizerCodec:
        return self.codec

    def describe(self) -> dict[str, Any]:
        import vllm

        return {"engine": "vllm", "vllm": vllm.__version__, "model": self.model, **self.options.model_dump()}

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Answer]]:
        """The whole batch submitted at once; each request handed back as it finishes (a prompt too long for the
        model's context at once, as Skipped)."""
        self.submit(list(enumerate(requests)))
        self.meter.begin("engine", len(requests))
        try:
            while self.busy():
                for index, completions in self.step():
                    self.meter.end("engine", None if isinstance(completions, Skipped) else completions)
                    yield requests[index], completions
        finally:  # an interrupted generator must not leave requests running in the engine
            self.meter.drop_all("engine")
            self.abort()

    def submit(self, work: Sequence[tuple[int, Request]]) -> None:
        """Add requests to the engine, each under a key of the caller's (unique among the requests running)."""
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        for key, request in work:
            s = request.sampling
            params = SamplingParams(
                n=s.n,
                temperature=s.temperature,
                top_p=s.top_p,
                top_k=s.top_k,
                max_tokens=s.max_tokens,
                seed=request.seed,
                output_kind=RequestOutputKind.FINAL_ONLY,
            )
            try:
                self.llm.llm_engine.add_request(str(key), self._engine_prompt(request), params)
            except Exception as exc:  # vLLM refuses a prompt that does not fit the context, before generating anything
                if not TOO_LONG.search(str(exc)):
                    raise
                self._skipped.append((key, Skipped(f"the prompt does not fit the model's context: {first_line(exc)}")))
                continue
            self._running[str(key)] = (key, request)

    def step(self) -> list[tuple[int, Answer]]:
        """One engine step: the requests that finished in it (and those refused on submission), by their keys."""
        finished: list[tuple[int, Answer]] = list(self._skipped)
        self._skipped.clear()
        for output in self.llm.llm_engine.step():
            if output.finished:
                key, request = self._running.pop(output.request_id)
                finished.append((key, self._completions(output, request)))
        return finished

    def busy(self) -> bool:
        return bool(self._skipped) or self.llm.llm_engine.has_unfinished_requests()

    def abort(self) -> None:
        """Drop every request still running."""
        if self._running:
            self.llm.llm_engine.abort_request(list(self._running))
            self._running.clear()

    def prompt_text(self, request: Request) -> str:
        return chat_prompt_text(self.tokenizer, request, self._template_kwargs)

    def engines(self) -> tuple[EngineUse, ...]:
        return self.meter.reading()

    def _engine_prompt(self, request: Request) -> Any:  # a vLLM TextPrompt or TokensPrompt
        if isinstance(request.prompt, str) and not request.continue_after and not request.prefill:
            return {"prompt": request.prompt}  # vLLM adds the tokenizer's special tokens, as for any text prompt
        text = self.prompt_text(request)
        ids = self.tokenizer.encode(text, add_special_tokens=isinstance(request.prompt, str))
        return {"prompt_token_ids": list(ids) + list(request.continue_after)}

    def _completions(self, output: Any, request: Request) -> list[Completion]:
        """The request's completions; its prompt billed on the first, and its timings (the request's) on each."""
        completions = []
        for index, choice in enumerate(cast(list, output.outputs)):
            ids = tuple(choice.token_ids)
            reasoning = self._reasoning_tokens(ids, choice.text, request)
            completions.append(
                Completion(
                    text=choice.text,
                    tokens=len(ids),
                    finish_reason=choice.finish_reason or "unknown",
                    token_ids=ids,
                    reasoning_tokens=reasoning,
                    prompt_tokens=len(output.prompt_token_ids or ()) if index == 0 else 0,
                    cached_tokens=(output.num_cached_tokens or 0) if index == 0 else 0,
                    timing=request_timing(output.metrics, len(ids), reasoning),
                )
            )
        return completions

    def _reasoning_tokens(self, ids: tuple[int, ...], text: str, request: Request) -> int | None:
        counted = self.codec.reasoning_tokens(ids, text, request.reasoning)
        return 0 if counted is None and request.prefill_closes_reasoning else counted

    def close(self) -> None:
        engine_core = getattr(self.llm.llm_engine, "engine_core", None)
        if engine_core is not None:
            engine_core.shutdown()


TOO_LONG = re.compile(r"longer than the maximum model length|maximum context length|exceeds the max", re.I)


def first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def request_timing(metrics: Any, tokens: int, reasoning_tokens: int | None) -> Timing | None:
    """A request's timings from vLLM's own (its first token after `first_token_latency`, its last after the tokens
    between them); the first answer token placed by its position, and said to be."""
    if metrics is None or not getattr(metrics, "first_token_ts", 0):
        return None
    first = float(metrics.first_token_latency)
    return Timing.spread(first + float(metrics.last_token_ts - metrics.first_token_ts), first, tokens, reasoning_tokens)


def chat_prompt_text(tokenizer: Any, request: Request, template_kwargs: dict[str, Any]) -> str:
    """The prompt as the model reads it: the plain prompt, or the chat rendered by the model's template; then the
    request's prefill, less an opening reasoning marker that the template wrote already."""
    if isinstance(request.prompt, str):
        text = request.prompt
    else:
        options: dict[str, Any] = {"tokenize": False, "add_generation_prompt": True, **template_kwargs}
        text = str(tokenizer.apply_chat_template(list(request.prompt), **options))
    return text + request.prefill_after(text)
