"""The optimiser and learning-rate schedule both training loops use (digits and lines)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

from .config import TrainConfig

__all__ = ["FusedAdamW", "adamw", "one_cycle"]


def adamw(model, config: TrainConfig, torch) -> FusedAdamW:
    """AdamW with weight decay on the weights only (not on biases or batch-norm scales)."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    return FusedAdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.max_lr,
        torch=torch,
    )


class FusedAdamW:
    """The update of ``torch.optim.AdamW(fused=True)``, bit for bit (a test compares them),
    with the parts of its interface the training loops use: ``param_groups`` (each with its
    ``lr``), ``zero_grad``, ``step``, ``state_dict`` and ``load_state_dict``.

    Why not torch.optim itself: its first use imports torch._dynamo, the compiler, whether or
    not anything is compiled: 1.2-1.4 s of CPU on a 2-core machine, a fifteenth of a
    one-epoch run of the default network all-in. The fused update (one kernel for all of a
    group's tensors rather than a dozen small operations per tensor) measured 10% faster per
    step of the lab net at batch 64 than torch's unfused AdamW.
    """

    def __init__(self, groups: list[dict], lr: float, torch, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self._torch = torch
        self.betas, self.eps = betas, eps
        self.param_groups = [
            {"params": list(group["params"]), "weight_decay": float(group.get("weight_decay", 0.0)), "lr": lr}
            for group in groups
        ]
        # Per parameter, by its position over all groups (as torch numbers them): "step" (a
        # float32 scalar tensor), "exp_avg", "exp_avg_sq"; made at a parameter's first step.
        self.state: dict[int, dict[str, Any]] = {}

    def _parameters(self):
        index = 0
        for group in self.param_groups:
            for parameter in group["params"]:
                yield index, group, parameter
                index += 1

    def zero_grad(self, set_to_none: bool = True) -> None:
        for _, _, parameter in self._parameters():
            if set_to_none:
                parameter.grad = None
            elif parameter.grad is not None:
                parameter.grad.zero_()

    def step(self) -> None:
        torch = self._torch
        with torch.no_grad():
            numbers = itertools.count()  # a parameter's number over all groups keys its state
            for group in self.param_groups:
                params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
                for parameter in group["params"]:
                    number = next(numbers)
                    if parameter.grad is None:
                        continue
                    state = self.state.get(number)
                    if state is None:
                        state = self.state[number] = {
                            "step": torch.zeros((), dtype=torch.float32, device=parameter.device),
                            "exp_avg": torch.zeros_like(parameter, memory_format=torch.preserve_format),
                            "exp_avg_sq": torch.zeros_like(parameter, memory_format=torch.preserve_format),
                        }
                    params.append(parameter)
                    grads.append(parameter.grad)
                    exp_avgs.append(state["exp_avg"])
                    exp_avg_sqs.append(state["exp_avg_sq"])
                    steps.append(state["step"])
                if not params:
                    continue
                torch._foreach_add_(steps, 1)
                torch._fused_adamw_(
                    params, grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False, lr=group["lr"],
                    beta1=self.betas[0], beta2=self.betas[1], weight_decay=group["weight_decay"],
                    eps=self.eps, maximize=False, grad_scale=None, found_inf=None,
                )

    def state_dict(self) -> dict[str, Any]:
        groups = [{key: value for key, value in group.items() if key != "params"} for group in self.param_groups]
        return {"state": {index: dict(state) for index, state in self.state.items()}, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        torch = self._torch
        parameters = {index: parameter for index, _, parameter in self._parameters()}
        state: dict[int, dict[str, Any]] = {}
        for index, values in state_dict["state"].items():
            parameter = parameters[int(index)]
            state[int(index)] = {
                "step": torch.as_tensor(values["step"], dtype=torch.float32).to(parameter.device).reshape(()),
                "exp_avg": values["exp_avg"].to(parameter.device, parameter.dtype),
                "exp_avg_sq": values["exp_avg_sq"].to(parameter.device, parameter.dtype),
            }
        self.state = state
        for group, saved in zip(self.param_groups, state_dict.get("param_groups", []), strict=False):
            group.update({key: value for key, value in saved.items() if key in ("lr", "weight_decay")})


def one_cycle(config: TrainConfig, total_steps: int) -> Callable[[int], float]:
    """The learning rate at each step: a linear ramp up, then a cosine down to nearly zero."""
    warmup = max(1, int(total_steps * config.warmup_fraction))

    def learning_rate(step: int) -> float:
        if step < warmup:
            return config.max_lr * (0.04 + 0.96 * step / warmup)
        progress = (step - warmup) / max(1, total_steps - warmup)
        return config.max_lr * (0.002 + 0.998 * 0.5 * (1 + math.cos(math.pi * progress)))

    return learning_rate
