import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { loadDashboardAssets, serveDashboard } from './static.js';

const MODULES = ['/dashboard.js', '/api.js', '/format.js', '/charts.js', '/render.js'];

describe('dashboard files', () => {
  const app = new Hono();
  serveDashboard(app);

  it("serves the page, its modules and core's ESM build without a token, as they are", async () => {
    for (const [path, type] of [
      ['/', 'text/html; charset=utf-8'],
      ['/dashboard.css', 'text/css; charset=utf-8'],
      ['/vendor/uPlot.min.css', 'text/css; charset=utf-8'],
      ['/vendor/uPlot.esm.js', 'text/javascript; charset=utf-8'],
      ['/assets/core.js', 'text/javascript; charset=utf-8'],
      ...MODULES.map((m) => [m, 'text/javascript; charset=utf-8']),
    ] as const) {
      const res = await app.request(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe(type);
      expect(res.headers.get('cache-control'), path).toBe('no-cache');
    }
    for (const m of MODULES)
      expect((await (await app.request(m)).text()).startsWith('// @ts-check\n'), m).toBe(true);
  });

  it("serves core's build with its zone code and without a pointer to a source map it does not serve", async () => {
    const core = await (await app.request('/assets/core.js')).text();
    expect(core).toMatch(/export \{[^}]*\blocalTime\b/);
    expect(core).not.toContain('sourceMappingURL');
  });

  it('serves every module the page imports, at the URL it imports it from', () => {
    const assets = loadDashboardAssets();
    let imports = 0;
    for (const [path, { body }] of assets) {
      if (!MODULES.includes(path)) continue;
      for (const [, specifier] of body.matchAll(/^import [^;]*? from '([^']+)';$/gms)) {
        const url = new URL(specifier!, `http://dashboard${path}`).pathname;
        expect(assets.has(url), `${path} imports ${specifier}`).toBe(true);
        imports++;
      }
    }
    // The pattern found them: every module but api.js imports something.
    expect(imports).toBeGreaterThanOrEqual(MODULES.length);
  });

  it('serves neither the type-check config nor the type shims', async () => {
    for (const path of ['/jsconfig.json', '/types/assets/core.d.ts', '/types/vendor/uPlot.esm.d.ts']) {
      expect((await app.request(path)).status, path).toBe(404);
    }
  });
});
