// Renders the lifecycle diagrams (Mermaid source in <pre class="mermaid">) with the vendored Mermaid.
/* global mermaid */
mermaid.initialize({ startOnLoad: true, securityLevel: "strict", theme: "neutral" });
