import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError, type ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { type ComputeMdClient, ComputeMdError } from '../sdk/client.js';

/**
 * Resources an agent (or its user) can attach as context: the provider directory and the
 * capability profiles, whole and one entry at a time. They are read live from the gateway.
 */
const json = (uri: URL, body: unknown): ReadResourceResult => ({
  contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(body, null, 2) }],
});

/** A gateway refusal as an MCP error (a resource read has no isError result form). */
async function read(uri: URL, get: () => Promise<unknown>): Promise<ReadResourceResult> {
  try {
    return json(uri, await get());
  } catch (err) {
    if (err instanceof ComputeMdError) {
      const code = err.status === 404 ? ErrorCode.InvalidParams : ErrorCode.InternalError;
      throw new McpError(code, err.problem.detail, { problem: err.problem });
    }
    throw err;
  }
}

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? (v[0] ?? '') : (v ?? ''));

export function registerResources(server: McpServer, client: ComputeMdClient): void {
  server.registerResource(
    'providers',
    'computemd://providers',
    {
      title: 'Provider directory',
      description:
        'Every provider this gateway reaches: type, resource classes, price range per GPU-hour, latency band, regions, payment methods, health, features (what it can run, interruptible, multi-node…), and whether it is simulated.',
      mimeType: 'application/json',
    },
    (uri) => read(uri, () => client.providers()),
  );

  server.registerResource(
    'provider',
    new ResourceTemplate('computemd://providers/{name}', {
      list: async () => {
        const { providers } = await client.providers();
        return {
          resources: providers.map((p) => ({
            uri: `computemd://providers/${encodeURIComponent(p.name)}`,
            name: p.name,
            description: `${p.type}: ${p.price_range ?? 'no price'} per GPU-hour${p.simulated ? ' (simulated)' : ''}`,
            mimeType: 'application/json',
          })),
        };
      },
    }),
    { title: 'One provider', mimeType: 'application/json' },
    (uri, v) => read(uri, () => client.provider(decodeURIComponent(one(v.name)))),
  );

  server.registerResource(
    'capabilities',
    'computemd://capabilities',
    {
      title: 'Capability profiles',
      description:
        'Normalised performance metrics per resource profile (TFLOPS, TOPS, memory, bandwidth, interconnect, typical price), latency bands, classes GPU_A/B/C and aliases.',
      mimeType: 'application/json',
    },
    (uri) => read(uri, () => client.capabilities()),
  );

  server.registerResource(
    'capability-profile',
    new ResourceTemplate('computemd://capabilities/{profile}', {
      list: async () => {
        const caps = await client.capabilities();
        return {
          resources: Object.keys(caps.resource_profiles).map((name) => ({
            uri: `computemd://capabilities/${encodeURIComponent(name)}`,
            name,
            mimeType: 'application/json',
          })),
        };
      },
    }),
    { title: 'One capability profile', mimeType: 'application/json' },
    (uri, v) =>
      read(uri, async () => {
        const caps = await client.capabilities();
        const asked = decodeURIComponent(one(v.profile));
        const name = caps.aliases[asked] ?? asked;
        const p = caps.resource_profiles[name];
        if (!p)
          throw new McpError(
            ErrorCode.InvalidParams,
            `No profile ${asked}. Known: ${Object.keys(caps.resource_profiles).join(', ')}.`,
          );
        return { profile: name, ...p };
      }),
  );
}
