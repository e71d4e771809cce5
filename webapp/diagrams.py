"""The diagram of a process, drawn on the server with Graphviz; one SVG per definition version, state and language."""

from __future__ import annotations

import pygraphviz

from workflow.core.definitions import Definition

FONT = "WenQuanYi Micro Hei,Microsoft YaHei,PingFang SC,sans-serif"


_CACHE: dict[tuple[str, int, str, str], bytes] = {}


def _svg(definition: Definition, state: str, lang: str) -> bytes:
    graph = pygraphviz.AGraph(directed=True, strict=False, rankdir="LR")
    graph.graph_attr.update(fontname=FONT, bgcolor="transparent", nodesep="0.35", ranksep="0.5")
    graph.node_attr.update(fontname=FONT, fontsize="11", shape="box", style="rounded,filled", fillcolor="#f5f7fa",
                           color="#9aa5b1")
    graph.edge_attr.update(fontname=FONT, fontsize="9", color="#616e7c", fontcolor="#3e4c59")
    for name, spec in definition.states.items():
        attrs = {"label": spec.label.get(lang)}
        if spec.final:
            attrs["peripheries"] = "2"
        if name == state:
            attrs.update(fillcolor="#b3261e", fontcolor="#ffffff", color="#b3261e")
        graph.add_node(name, **attrs)
    for transition in definition.transitions:
        if transition.dest is None:
            continue
        for source in transition.sources:
            style = "dashed" if transition.system else "solid"
            graph.add_edge(source, transition.dest, key=f"{transition.trigger}:{source}",
                           label=transition.label.get(lang), style=style)
    graph.layout("dot")
    return graph.draw(format="svg")


def diagram_svg(definition: Definition, state: str, lang: str) -> bytes:
    """SVG of `definition` with `state` highlighted (cached per version, state and language)."""
    key = (definition.key, definition.version, state, lang)
    if key not in _CACHE:  # a race draws the same picture twice, harmlessly
        _CACHE[key] = _svg(definition, state, lang)
    return _CACHE[key]
