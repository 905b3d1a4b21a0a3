# The spec's "Dynamic Resource Allocation" loop (docs/spec.md), run against a computemd gateway.
# Every line the spec has is here as it is written, except those marked CHANGED, each saying why.
#
#   COMPUTEMD_URL=http://127.0.0.1:7070 COMPUTEMD_TOKEN=<api key> python3 examples/dynamic_allocation.py
#
# Python 3 standard library only. Each round books 10 GPU-hours on the cheapest P2P marketplace for
# every class whose traditional-cloud price is over three times the P2P price, so the token's
# account needs a few dollars of credit per round.
import json  # CHANGED: the standard library stands in for `requests`
import os  # CHANGED: the gateway and token come from the environment
import time  # CHANGED: the loop waits between rounds
import urllib.error  # CHANGED: as above
import urllib.request  # CHANGED: as above

BASE = os.environ.get("COMPUTEMD_URL", "http://127.0.0.1:7070")  # CHANGED: the local gateway, not https://compute.md
TOKEN = os.environ.get("COMPUTEMD_TOKEN", "")  # CHANGED: booking spends, so it carries a token
ROUNDS = int(os.environ.get("COMPUTEMD_ROUNDS", "1"))  # CHANGED: the spec's loop never ends; this one runs ROUNDS times
POLL_SECONDS = float(os.environ.get("COMPUTEMD_POLL_SECONDS", "60"))  # CHANGED: and waits between rounds


def api(method, path, body=None):  # CHANGED: one JSON call to the gateway, with the token
    req = urllib.request.Request(
        BASE + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer " + TOKEN},
    )
    try:
        with urllib.request.urlopen(req) as res:
            return json.load(res)
    except urllib.error.HTTPError as e:  # a refusal is problem+json: say what it says
        raise SystemExit(f"{method} {path}: {e.code} {json.load(e).get('detail')}") from None


class requests:  # CHANGED: the one call of `requests` the spec makes, on the standard library
    class _Response:
        def __init__(self, body):
            self._body = body

        def json(self):
            return self._body

    @staticmethod
    def get(url):
        return requests._Response(api("GET", url.replace("https://compute.md", "")))


def book_p2p(resource_type, hours=10):  # CHANGED: the spec calls book_p2p but never defines it
    # `hours` GPU-hours of this class on the cheapest P2P marketplace: marketplace_a is the spec's
    # placeholder for it, as in its JavaScript booking example.
    return api("POST", "/book", {
        "plan": "p2p",
        "allocations": [{"provider": "marketplace_a", "gpu_hours": hours, "gpu_type": resource_type}],
        "payment": {"method": "credits"},
    })


def optimize_allocation(capacity, efficiency_target, marketplace):  # CHANGED: called but never defined by the spec
    # compute.md has no resale exchange (`marketplace` is kept for the spec's call and not used).
    # What the gateway can say is where the same work would run at the efficiency target: a quote
    # (POST /orchestrate spends nothing) for the booked GPU-hours with nodes at least that reliable.
    return api("POST", "/orchestrate", {
        "workload": {"type": "batch_processing", "compute_hours": capacity["total_gpu_hours"]},
        "constraints": {"min_reliability": efficiency_target},
    })


# Agent monitors and optimizes resource usage
for _round in range(ROUNDS):  # CHANGED: was `while True:`
    prices = requests.get('https://compute.md/prices/spot').json()

    # Find optimal allocation opportunities
    for resource_type in ['GPU_A', 'GPU_B', 'GPU_C']:
        p2p_price = prices['p2p_market'][resource_type]
        cloud_price = prices['traditional'][resource_type]
        if p2p_price is None or cloud_price is None:  # CHANGED: a class no provider of that type offers has no price
            continue  # CHANGED: (as above)

        if cloud_price > p2p_price * 3:
            # Allocate on P2P network
            capacity = book_p2p(resource_type, hours=10)
            listing = optimize_allocation(
                capacity, 
                efficiency_target=0.95,
                marketplace='compute.md/exchange'
            )
            savings = cloud_price - p2p_price
            print(f"Optimization: {savings} per hour saved")
    if _round + 1 < ROUNDS:  # CHANGED: wait before the next round
        time.sleep(POLL_SECONDS)  # CHANGED: (as above)
