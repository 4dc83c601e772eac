"""Lifecycle diagrams, rendered from the definitions by transitions' GraphMachine.

The Mermaid engine needs no system package.  One GraphMachine is built per
lifecycle version (on first use) and only ever read; each call draws a fresh
graph object, so highlighting the current state never leaks between callers.
"""

from __future__ import annotations

import threading

from transitions.extensions.diagrams import GraphMachine

from .definition import Lifecycle

#: id(lifecycle) → (lifecycle, machine); keeping the lifecycle keeps its id from being reused, and two
#: registries may each hold a lifecycle of the same name and version
_machines: dict[int, tuple[Lifecycle, GraphMachine]] = {}
_lock = threading.Lock()


def _graph_machine(lifecycle: Lifecycle) -> GraphMachine:
    key = id(lifecycle)
    with _lock:
        found = _machines.get(key)
        if found is None:
            machine = GraphMachine(
                model=None,
                states=[{"name": st.name, "final": st.terminal} for st in lifecycle.states],
                transitions=[
                    {"trigger": ev.name, "source": list(ev.sources), "dest": ev.dest} for ev in lifecycle.events
                ],
                initial=lifecycle.initial,
                auto_transitions=False,
                graph_engine="mermaid",
                title=f"title: {lifecycle.label} (v{lifecycle.version})",  # Mermaid front matter
                show_conditions=False,
            )
            markup = machine.get_markup_config()
            for state in markup["states"]:
                state["label"] = lifecycle.state(state["name"]).label
            for transition in markup["transitions"]:
                event = lifecycle.event(transition["trigger"])
                transition["label"] = event.label + (" ✍" if event.signature else "")
            found = _machines[key] = (lifecycle, machine)
    return found[1]


def mermaid(lifecycle: Lifecycle, current: str | None = None) -> str:
    """The lifecycle as a Mermaid state diagram, ``current`` highlighted.

    Events that carry an electronic signature are marked with ✍; terminal
    states lead to the end marker.
    """
    machine = _graph_machine(lifecycle)
    graph = machine.graph_cls(machine)
    if current is not None:
        if current not in lifecycle.state_index:
            raise ValueError(f"{current!r} is not a state of {lifecycle.name}")
        graph.set_node_style(current, "active")
    lines = [graph.get_graph().source.rstrip()]
    lines += [f"  {st.name} --> [*]" for st in lifecycle.states if st.terminal]
    return "\n".join(lines) + "\n"
