import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { packagePath } from '../../src/util/paths.js';
import { BASE_ENV } from './serve.js';

/**
 * The MCP SDK's own client on either transport: `stdio` spawns the real binary (`computemd mcp
 * --url … --token …`), `http` speaks Streamable HTTP to the gateway's /mcp with the token as its
 * bearer. Tests hold the same assertions over both.
 */
export type McpKind = 'stdio' | 'http';

export interface Connected {
  client: Client;
  /** What the stdio server wrote on stderr (empty for http). */
  stderr: () => string;
  close(): Promise<void>;
}

export async function connectMcp(kind: McpKind, base: string, token: string): Promise<Connected> {
  const client = new Client({ name: 'computemd-test', version: '1.0.0' });
  let err = '';
  if (kind === 'stdio') {
    const env = Object.fromEntries(
      Object.entries(BASE_ENV).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    const t = new StdioClientTransport({
      command: process.execPath,
      args: [packagePath('bin', 'computemd.js'), 'mcp', '--url', base, '--token', token],
      env,
      stderr: 'pipe',
    });
    t.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
    });
    await client.connect(t);
  } else {
    const t = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    await client.connect(t);
  }
  return { client, stderr: () => err, close: () => client.close() };
}

/** A tool call's result, typed for assertions (structured content read loosely). */
export async function call(
  c: Client,
  name: string,
  args: Record<string, unknown> = {},
  // biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON results
): Promise<CallToolResult & { text: string; data: Record<string, any> }> {
  const r = (await c.callTool({ name, arguments: args })) as CallToolResult;
  const text = r.content.map((x) => (x.type === 'text' ? x.text : '')).join('\n');
  // biome-ignore lint/suspicious/noExplicitAny: as above
  return { ...r, text, data: (r.structuredContent ?? {}) as Record<string, any> };
}
