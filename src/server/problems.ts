import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Problem, ProblemError, problem } from '../protocol/problem.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Sends a problem as RFC 9457 JSON, whatever the request's Accept said (problems are always JSON). */
export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  const body = JSON.stringify({ ...p, instance: p.instance ?? reply.request.url });
  return reply
    .code(p.status)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .header('x-problem', '1')
    .send(body);
}

/**
 * The one place errors become HTTP (STYLE.md 9). Expected failures arrive as ProblemError; Fastify's
 * own client errors (bad JSON, too large, wrong media type) keep their 4xx status; anything else is
 * a bug and is logged as one.
 */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof ProblemError) return sendProblem(reply, err.problem);
    const status = err.statusCode ?? 500;
    if (err.validation) {
      const params = err.validation.map((v) => ({
        name: String(
          v.instancePath || v.params?.missingProperty || v.params?.additionalProperty || '(body)',
        ).replace(/^\//, ''),
        reason: v.message ?? 'invalid',
      }));
      const kind = err.validationContext === 'body' ? 'invalid-body' : 'invalid-parameter';
      return sendProblem(
        reply,
        problem(kind, `${params[0]?.name}: ${params[0]?.reason}`, {
          param: params[0]?.name,
          invalid_params: params,
        }),
      );
    }
    if (status >= 400 && status < 500) {
      const kind =
        status === 413
          ? 'payload-too-large'
          : status === 415
            ? 'unsupported-media-type'
            : status === 406
              ? 'not-acceptable'
              : 'invalid-body';
      return sendProblem(reply, { ...problem(kind, err.message), status });
    }
    req.log.error({ err }, 'unhandled error');
    return sendProblem(
      reply,
      problem('internal', 'The gateway hit a bug; it has been logged. Retry, and report it if it persists.'),
    );
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(
      reply,
      problem(
        'not-found',
        `No route ${req.method} ${req.url.split('?')[0]}. See GET /openapi.json for the API.`,
      ),
    ),
  );
}
