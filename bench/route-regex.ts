/**
 * Worst cases of route regular expressions under RE2 (README "Routing" bounds): recipient
 * patterns built to defeat RE2's DFA, as many as fit one domain's pattern budget, against a
 * 320-character address (one RCPT TO); and one of them against a 2 KiB filter value.
 *   npx tsx bench/route-regex.ts
 */
import { MAX_DOMAIN_PATTERN_COST } from '../src/api/route-input.js';
import { compileRouteRegex, type RouteRegex } from '../src/route/regex.js';

const compiled = (source: string): RouteRegex => {
  const re = compileRouteRegex(source);
  if ('error' in re) throw new Error(`${source}: ${re.error}`);
  return re;
};

const WORST = ['(?:.?a?){240}z', '(?:.{0,15}a){16}z', '(.*(.{10}|a{10}|b.*){6}){4}z', '(.*.*.*.*){60}z'];
for (const body of WORST) {
  const routes: RouteRegex[] = [];
  let cost = 0;
  for (let i = 0; ; i++) {
    const re = compiled(`${body}${i}@example\\.com`);
    if (cost + re.size > MAX_DOMAIN_PATTERN_COST) break;
    cost += re.size;
    routes.push(re);
  }
  const filter = compiled(body);
  for (const address of ['a'.repeat(307) + '@example.com', 'ab'.repeat(153) + 'z@example.com']) {
    for (const re of routes) re.test(address); // compiled and warm, as in a running server
    const t = performance.now();
    for (const re of routes) re.test(address);
    const rcpt = performance.now() - t;
    const t2 = performance.now();
    filter.test('a'.repeat(2047) + 'z');
    const value = performance.now() - t2;
    console.log(`${body.padEnd(32)} ${routes.length} routes, cost ${cost}: RCPT ${rcpt.toFixed(1)} ms; one 2 KiB value ${value.toFixed(1)} ms`);
  }
}
