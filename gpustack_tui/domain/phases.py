"""Phases of an instance's run and the failures that ended earlier runs.

An instance's state (`InstanceState`) is what scripts read; its phase is the finer word the
tables show with the time spent in it. The phase is the state's own word, except while
`starting`:

- `starting`: the agent was asked to start the workload and has not yet reported it running;
- `loading`: the workload runs (the agent lists it) but its health check does not pass yet;
- `pulling image` (`PULLING_IMAGE`): reserved for a container image being pulled before the
  start; nothing records it yet.

A run begins when the instance is created and again at each restart. `move` is the one place
that changes an instance's state: it closes the current phase, opens the next one, records a
failure when the instance turns `error` and starts a new run when it is restarted. Pure: the
caller gives the time.
"""

from __future__ import annotations

from gpustack_tui.domain.instance import Failure, Instance, InstanceState, Phase, Progress

STARTING = "starting"
LOADING = "loading"
PULLING_IMAGE = "pulling image"
"""Reserved: the image pull before a container starts (not recorded yet)."""

MAX_PHASES = 20
"""Phases kept per run; a run that flaps (health failing, a worker away) keeps its latest."""
MAX_FAILURES = 5
"""Failed runs kept per instance, the newest last."""


def phase_of(instance: Instance) -> str:
    """The instance's phase word; its state's word for a row written before phases existed."""
    return instance.phase or instance.state.value


def default_phase(state: InstanceState) -> str:
    """The phase a state begins with."""
    return STARTING if state is InstanceState.STARTING else state.value


def begin(instance: Instance, now: float) -> None:
    """Open the first phase of a new instance (its state's), unless it has one."""
    if not instance.phases:
        _open(instance, instance.phase or default_phase(instance.state), now)


def move(
    instance: Instance,
    state: InstanceState,
    message: str,
    now: float,
    phase: str | None = None,
    failure: Failure | None = None,
    progress: Progress | None = None,
) -> None:
    """Put `instance` in `state` with `message`, in `phase` (by default: the current phase when
    the state stays, else the state's first phase), with `progress` (None: no transfer to
    show). Turning `error` records `failure` (by default: the message as its reason); leaving
    `error` for `scheduled` (a restart) marks the last failure restarted and begins a new run."""
    previous, current = instance.state, phase_of(instance)
    if phase is None:
        phase = current if state is previous else default_phase(state)
    if state is InstanceState.ERROR and previous is not InstanceState.ERROR:
        record = failure or Failure(reason=message)
        instance.failures = [
            *instance.failures,
            record.model_copy(update={"failed_at": now}),
        ][-MAX_FAILURES:]
    if previous is InstanceState.ERROR and state is InstanceState.SCHEDULED:
        if instance.failures and instance.failures[-1].restarted_at is None:
            instance.failures[-1].restarted_at = now
        _close(instance, now)
        instance.phases = []
        instance.earlier_phases = 0
    instance.state = state
    instance.state_message = message
    instance.progress = progress
    # A row from before phases keeps its state without a time until it moves: when it
    # entered its phase is unknown.
    if phase != current or (not instance.phases and state is not previous):
        _open(instance, phase, now)


def _close(instance: Instance, now: float) -> None:
    if instance.phases and instance.phases[-1].ended_at is None:
        instance.phases[-1].ended_at = now


def _open(instance: Instance, name: str, now: float) -> None:
    _close(instance, now)
    phases = [*instance.phases, Phase(name=name, started_at=now)]
    dropped = max(0, len(phases) - MAX_PHASES)
    instance.phases = phases[dropped:]
    instance.earlier_phases += dropped
    instance.phase = name
    instance.phase_since = now
