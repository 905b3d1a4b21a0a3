/**
 * did:key test vectors, copied verbatim (a subset) from the W3C CCG did:key Method specification's
 * published test vectors:
 *   https://github.com/w3c-ccg/did-method-key/tree/main/test-vectors
 *   (ed25519-x25519.json, secp256k1.json, nist-curves.json; commit f5abee84, 2022-09-02),
 *   referenced from https://w3c-ccg.github.io/did-method-key/
 * Licence: W3C Software and Document License,
 *   https://www.w3.org/Consortium/Legal/2015/copyright-software-and-document
 *
 * Fields keep the names used there: `seed` is the 32-byte secret (Ed25519 seed / secp256k1
 * scalar) as hex, `publicKeyBase58` the raw public key (Ed25519 32 bytes; secp256k1 and P-256
 * compressed, 33 bytes) in base58btc, `privateKeyJwk` the P-256 key as a JWK.
 */
export interface DidKeyVector {
  did: string;
  alg: 'Ed25519' | 'P-256' | 'secp256k1';
  source: string;
  seed?: string;
  publicKeyBase58?: string;
  privateKeyBase58?: string;
  privateKeyJwk?: { kty: 'EC'; crv: 'P-256'; x: string; y: string; d: string };
}

export const DID_KEY_VECTORS: readonly DidKeyVector[] = [
  {
    did: 'did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp',
    alg: 'Ed25519',
    source: 'test-vectors/ed25519-x25519.json',
    seed: '0000000000000000000000000000000000000000000000000000000000000000',
    publicKeyBase58: '4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS',
  },
  {
    did: 'did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG',
    alg: 'Ed25519',
    source: 'test-vectors/ed25519-x25519.json',
    seed: '0000000000000000000000000000000000000000000000000000000000000001',
    publicKeyBase58: '6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt',
  },
  {
    did: 'did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf',
    alg: 'Ed25519',
    source: 'test-vectors/ed25519-x25519.json',
    seed: '0000000000000000000000000000000000000000000000000000000000000002',
    publicKeyBase58: '8pM1DN3RiT8vbom5u1sNryaNT1nyL8CTTW3b5PwWXRBH',
  },
  {
    did: 'did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme',
    alg: 'secp256k1',
    source: 'test-vectors/secp256k1.json',
    seed: '9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c',
    publicKeyBase58: '23o6Sau8NxxzXcgSc3PLcNxrzrZpbLeBn1izfv3jbKhuv',
    privateKeyBase58: 'AjA4cyPUbbfW5wr6iZeRbJLhgH3qDt6q6LMkRw36KpxT',
  },
  {
    did: 'did:key:zQ3shtxV1FrJfhqE1dvxYRcCknWNjHc3c5X1y3ZSoPDi2aur2',
    alg: 'secp256k1',
    source: 'test-vectors/secp256k1.json',
    seed: 'f0f4df55a2b3ff13051ea814a8f24ad00f2e469af73c363ac7e9fb999a9072ed',
    publicKeyBase58: '291KzQhqCPC18PqH83XKhxv1HdqrdnxyS7dh15t2uNRzJ',
    privateKeyBase58: 'HDbR1D5W3CoNbUKYzUbHH2PRF1atshtVupXgXTQhNB9E',
  },
  {
    did: 'did:key:zQ3shZc2QzApp2oymGvQbzP8eKheVshBHbU4ZYjeXqwSKEn6N',
    alg: 'secp256k1',
    source: 'test-vectors/secp256k1.json',
    seed: '6b0b91287ae3348f8c2f2552d766f30e3604867e34adc37ccbb74a8e6b893e02',
    publicKeyBase58: 'oesQ92MLiAkt2pjBcJFbW7H4DvzKJv22cotjYbmC2JEe',
    privateKeyBase58: '8CrrWVdzDnvaS7vS5dd2HetFSebwEN46XEFrNDdtWZSZ',
  },
  {
    did: 'did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv',
    alg: 'P-256',
    source: 'test-vectors/nist-curves.json',
    privateKeyJwk: {
      kty: 'EC',
      crv: 'P-256',
      x: 'igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns',
      y: 'efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM',
      d: 'gPh-VvVS8MbvKQ9LSVVmfnxnKjHn4Tqj0bmbpehRlpc',
    },
  },
  {
    did: 'did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169',
    alg: 'P-256',
    source: 'test-vectors/nist-curves.json',
    privateKeyJwk: {
      kty: 'EC',
      crv: 'P-256',
      x: 'fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI',
      y: 'hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU',
      d: 'YjRs6vNvw4sYrzVVY8ipkEpDAD9PFqw1sUnvPRMA-WI',
    },
  },
  {
    did: 'did:key:zDnaeTiq1PdzvZXUaMdezchcMJQpBdH2VN4pgrrEhMCCbmwSb',
    alg: 'P-256',
    source: 'test-vectors/nist-curves.json',
    publicKeyBase58: 'ekVhkcBFq3w7jULLkBVye6PwaTuMbhJYuzwFnNcgQAPV',
    privateKeyBase58: '9p4VRzdmhsnq869vQjVCTrRry7u4TtfRxhvBFJTGU2Cp',
  },
];
