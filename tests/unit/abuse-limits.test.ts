import { describe, expect, it } from "vitest";
import { addressKey } from "@/lib/client-address";
import { TokenBucket } from "@/lib/socket/guarded";

describe("addressKey", () => {
  it("keys IPv4 by the address, also when IPv4-mapped", () => {
    expect(addressKey("203.0.113.7")).toBe("203.0.113.7");
    expect(addressKey("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(addressKey("::FFFF:127.0.0.1")).toBe("127.0.0.1");
  });

  it("keys IPv6 by its /64, however it is written", () => {
    const key = "2001:db8:0:1::/64";
    expect(addressKey("2001:db8:0:1::1")).toBe(key);
    expect(addressKey("2001:0db8:0000:0001:ffff:ffff:ffff:ffff")).toBe(key);
    expect(addressKey("2001:DB8:0:1:a:b:c:d%eth0")).toBe(key);
    expect(addressKey("2001:db8:0:2::1")).not.toBe(key);
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("64:ff9b::198.51.100.1")).toBe("64:ff9b:0:0::/64");
  });

  it("keeps anything else as it is", () => {
    expect(addressKey(undefined)).toBe("unknown");
    expect(addressKey("not an address")).toBe("not an address");
  });
});

describe("TokenBucket", () => {
  it("grants the burst at once, then one token per 1/rate seconds, and says how long to wait", () => {
    const bucket = new TokenBucket(3, 2);
    const t0 = Date.now();
    expect([bucket.take(t0), bucket.take(t0), bucket.take(t0)]).toEqual([0, 0, 0]);
    expect(bucket.take(t0)).toBe(500);
    expect(bucket.take(t0 + 250)).toBe(250);
    expect(bucket.take(t0 + 500)).toBe(0);
    // It refills to the burst, no further.
    expect([0, 1, 2, 3].map(() => bucket.take(t0 + 60_000))).toEqual([0, 0, 0, 500]);
  });
});
