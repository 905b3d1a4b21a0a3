import { readFileSync } from 'node:fs';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { ComputeMdClient } from '../sdk/client.js';
import { packagePath } from '../util/paths.js';
import { createMcpServer } from './server.js';

/**
 * `computemd mcp`: the MCP server on stdin/stdout for a local MCP client (Claude Desktop, an agent
 * framework). stdout carries only the protocol; anything for a person goes to stderr. Resolves
 * when the client closes the stream.
 */
export async function runMcpStdio(client: ComputeMdClient, err: (s: string) => void): Promise<number> {
  const { version } = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string };
  const server = createMcpServer(client, { version });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.connect(transport);
  err(`computemd mcp: serving over stdio for ${client.baseUrl}`);
  await closed;
  await server.close();
  return 0;
}
