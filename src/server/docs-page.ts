/**
 * GET /docs: a self-contained HTML reference rendered from the OpenAPI document (no CDN assets:
 * the gateway runs on machines without outside network).
 */
interface OpenApiParam {
  name: string;
  in: string;
  description?: string;
  required?: boolean;
}
interface OpenApiOp {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: OpenApiParam[];
  responses?: Record<string, { description?: string }>;
}
export interface OpenApiDoc {
  info?: { title?: string; version?: string; description?: string };
  paths?: Record<string, Record<string, OpenApiOp>>;
}

const esc = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

export function renderDocs(doc: OpenApiDoc): string {
  const ops: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(methods)) {
      const params = (op.parameters ?? [])
        .map(
          (p) =>
            `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${p.required ? 'yes' : ''}</td><td>${esc(p.description ?? '')}</td></tr>`,
        )
        .join('');
      const responses = Object.entries(op.responses ?? {})
        .map(([code, r]) => `<li><code>${esc(code)}</code> ${esc(r.description ?? '')}</li>`)
        .join('');
      const id = `${method}-${path}`.replace(/[^a-zA-Z0-9]+/g, '-');
      ops.push(`<section id="${esc(id)}"><h2><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h2>
<p><strong>${esc(op.summary ?? '')}</strong></p><p>${esc(op.description ?? '')}</p>
${params ? `<table><thead><tr><th>parameter</th><th>in</th><th>required</th><th>meaning</th></tr></thead><tbody>${params}</tbody></table>` : ''}
${responses ? `<ul>${responses}</ul>` : ''}</section>`);
    }
  }
  const title = esc(doc.info?.title ?? 'computemd');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title} API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#1b1b1b}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px}table{border-collapse:collapse;width:100%;margin:.5em 0}
td,th{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}section{border-top:1px solid #eee;padding-top:.5em}
.m{font-size:.8em;padding:.1em .4em;border-radius:3px;color:#fff;background:#555}.m.get{background:#2a7}.m.post{background:#27a}.m.delete{background:#a33}</style>
</head><body><h1>${title} <small>${esc(doc.info?.version ?? '')}</small></h1>
<p>${esc(doc.info?.description ?? '')}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Units follow the glossary: GPU prices are USD per GPU-hour (node-hour for CPU-only offers); <code>memory_gb</code> is GPU memory per GPU; <code>gpu_hours</code> in /discover are reference GPU-hours.</p>
${ops.join('\n')}
</body></html>`;
}
