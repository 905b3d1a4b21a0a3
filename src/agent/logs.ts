/**
 * Ships a running lease's stdout and stderr to the gateway in batches (`POST /leases/:id/logs`):
 * chunks are cut into lines, a partial line waits for its end (or the close), and a batch goes at
 * most every `intervalMs` or when `maxLines` are waiting. A failed batch is logged and dropped: the
 * work goes on, and the output files stay the record of what it produced.
 */

export interface LogLineOut {
  at: number;
  stream: 'stdout' | 'stderr' | 'system';
  line: string;
}

export interface LogShipper {
  push(stream: 'stdout' | 'stderr', chunk: Buffer): void;
  /** Sends what is left, the partial lines included. */
  close(): Promise<void>;
}

export function createLogShipper(
  post: (lines: LogLineOut[]) => Promise<void>,
  log: (msg: string) => void,
  o: { intervalMs?: number; maxLines?: number } = {},
): LogShipper {
  const intervalMs = o.intervalMs ?? 250;
  const maxLines = o.maxLines ?? 500;
  const partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  let queue: LogLineOut[] = [];
  let timer: NodeJS.Timeout | null = null;
  let chain: Promise<void> = Promise.resolve();
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    while (queue.length > 0) {
      const batch = queue.slice(0, 1000);
      queue = queue.slice(1000);
      chain = chain.then(() =>
        post(batch).catch((err) =>
          log(`computemd node: ${batch.length} log lines not sent: ${(err as Error).message}`),
        ),
      );
    }
  };
  return {
    push(stream, chunk) {
      const text = partial[stream] + chunk.toString('utf8');
      const lines = text.split('\n');
      partial[stream] = lines.pop() ?? '';
      const at = Date.now();
      for (const line of lines) queue.push({ at, stream, line });
      if (queue.length >= maxLines) flush();
      else if (queue.length > 0 && !timer) timer = setTimeout(flush, intervalMs);
    },
    async close() {
      const at = Date.now();
      for (const s of ['stdout', 'stderr'] as const)
        if (partial[s] !== '') {
          queue.push({ at, stream: s, line: partial[s] });
          partial[s] = '';
        }
      flush();
      await chain;
    },
  };
}
