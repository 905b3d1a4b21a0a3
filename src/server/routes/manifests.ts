import type { FastifyInstance } from 'fastify';
import { ManifestError, verifyManifest } from '../../identity/manifest.js';
import { manifestProblem } from '../../identity/workload.js';
import { sendProblem } from '../problems.js';
import { anyBody, bad, type IdentityApi } from './identity-common.js';

/** `POST /manifests/verify`: check a signed workload manifest for anyone; nothing is stored. */
export function manifestRoutes(app: FastifyInstance, id: IdentityApi): void {
  app.post(
    '/manifests/verify',
    {
      ...anyBody,
      config: { public: true },
      schema: {
        summary: 'Check a signed workload manifest (anyone; nothing is stored)',
        description:
          "Body: {manifest: compact JWS}. 200 with the signer's DID, the digest and the manifest when the signature verifies against the DID in its kid and that DID is the manifest's requester; 422 invalid-signature for a tampered manifest; 400 naming the field for a malformed one.",
        tags: ['identity'],
      },
    },
    async (req, reply) => {
      const body = req.body as Record<string, unknown> | null;
      if (!body || typeof body !== 'object' || typeof body.manifest !== 'string')
        return sendProblem(reply, bad('/manifest', 'must be the compact JWS of a signed workload manifest'));
      try {
        const v = await verifyManifest(body.manifest, id.resolveDid);
        return { valid: true, signer: v.did, digest: v.digest, manifest: v.manifest };
      } catch (err) {
        if (!(err instanceof ManifestError)) throw err;
        return sendProblem(reply, manifestProblem(err));
      }
    },
  );
}
