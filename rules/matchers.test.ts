import { inNetwork, ipKey, parseCidr, parseIp } from './matchers.js';

describe('IP addresses and networks', () => {
  it('parses IPv4 and IPv6 and gives equal keys for equal addresses', () => {
    expect(parseIp('10.0.0.1')).toEqual({ version: 4, value: 0x0a000001n });
    expect(ipKey(parseIp('::1')!)).toBe(ipKey(parseIp('0:0:0:0:0:0:0:1')!));
    expect(parseIp('::ffff:10.0.0.1')).toEqual({ version: 6, value: 0xffff0a000001n });
    for (const bad of ['1.2.3', '256.0.0.1', '01.2.3.4', '1::2::3', 'x', '1:2:3:4:5:6:7:8:9', ''])
      expect(parseIp(bad)).toBeUndefined();
  });

  it('tests membership of CIDR blocks', () => {
    const net = parseCidr('10.0.0.0/8')!;
    expect(inNetwork(parseIp('10.255.1.1')!, net)).toBe(true);
    expect(inNetwork(parseIp('11.0.0.1')!, net)).toBe(false);
    expect(inNetwork(parseIp('::a00:1')!, net)).toBe(false);
    expect(inNetwork(parseIp('fe80::1234')!, parseCidr('fe80::/10')!)).toBe(true);
    expect(inNetwork(parseIp('1.2.3.4')!, parseCidr('0.0.0.0/0')!)).toBe(true);
    expect(inNetwork(parseIp('1.2.3.4')!, parseCidr('1.2.3.4')!)).toBe(true);
    for (const bad of ['10.0.0.0/33', '10.0.0.0/x', '::/129', '10.0.0/8', '1.2.3.4/8/9'])
      expect(parseCidr(bad)).toBeUndefined();
  });
});
