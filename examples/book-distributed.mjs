// biome-ignore-all format: the spec's own formatting is kept, line for line
// The spec's "Distributed Training" example (docs/spec.md), run against a computemd gateway.
// Every line the spec has is here as it is written, except those marked CHANGED, each saying why.
//
//   COMPUTEMD_URL=http://127.0.0.1:7070 COMPUTEMD_TOKEN=<api key> node examples/book-distributed.mjs
//
// The token's account needs funds for about 1000 GPU-hours at marketplace prices (a few hundred
// USD of credits: `computemd credit <principal> --amount 500` as the operator).

// CHANGED: the gateway is the local one (or COMPUTEMD_URL), not https://compute.md.
const BASE = process.env.COMPUTEMD_URL ?? 'http://127.0.0.1:7070';
// CHANGED: booking spends money, so it carries a token (an API key, OAuth2 JWT or UCAN).
const TOKEN = process.env.COMPUTEMD_TOKEN;

// Agent needs 1000 GPU-hours for model training

// Discover cost-effective options across all providers
// biome-ignore lint/correctness/noUnusedVariables: the spec fetches the options and never reads them
const options = await fetch(`${BASE}/discover?gpu_hours=1000&min_memory_gb=24&max_price=1.00&sort=price_asc`) // CHANGED: BASE
  .then(res => res.json());

// Book distributed allocation
const bookCompute = async () => {
  try {
    const response = await fetch(`${BASE}/book`, { // CHANGED: BASE
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${TOKEN}`, // CHANGED: the token
      },
      body: JSON.stringify({
        plan: 'distributed',
        allocations: [
          { provider: 'marketplace_a', gpu_hours: 600, gpu_type: 'TYPE_B' },
          { provider: 'network_b', gpu_hours: 400, cpu_fallback: true }
        ],
        payment: { method: 'STABLE_COIN', stream: true }
      })
    });
    
    // CHANGED: a refusal is problem+json, not a booking: report its detail instead of "Booked undefined hours".
    if (!response.ok) throw new Error(`${response.status}: ${(await response.json()).detail}`);
    const booking = await response.json();
    console.log(`Booked ${booking.total_gpu_hours} hours`);
    console.log(`Total cost: $${booking.total_cost}`);
    console.log(`Savings vs traditional: ${booking.savings_percent}%`);
    // Output: "Savings vs traditional: 78%"
  } catch (error) {
    console.error('Error booking compute:', error);
  }
};

// CHANGED: the spec defines bookCompute but never calls it.
await bookCompute();
