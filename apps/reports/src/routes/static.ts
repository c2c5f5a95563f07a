import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import type { Hono } from 'hono';

const require = createRequire(import.meta.url);
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** One file as served: its text and content type. */
interface Asset {
  body: string;
  type: string;
}

function asset(path: string): Asset {
  const type = TYPES[extname(path)];
  if (!type) throw new Error(`dashboard asset ${path}: no content type for its extension`);
  return { body: readFileSync(path, 'utf8'), type };
}

/**
 * The dashboard's files by URL path: the page at `/`, every module and stylesheet of `public/` beside
 * it, uPlot from its npm package, and `@earshot/core`'s browser-safe ESM build at `/assets/core.js`
 * (the dashboard formats times with core's zone code instead of a copy of it). Read once: a change to
 * `public/` needs a restart.
 */
export function loadDashboardAssets(): Map<string, Asset> {
  // Found through the packages, not this file's URL: the build bundles this module into dist/.
  const publicDir = join(dirname(require.resolve('@earshot/reports/package.json')), 'public');
  const corePackage = require.resolve('@earshot/core/package.json');
  const coreModule = (JSON.parse(readFileSync(corePackage, 'utf8')) as { module: string }).module;
  const uplotJs = require.resolve('uplot/dist/uPlot.esm.js');
  const assets = new Map<string, Asset>([['/', asset(join(publicDir, 'index.html'))]]);
  // Only .js and .css: jsconfig.json and the type shims in public/types/ are for tsc, not the browser.
  for (const entry of readdirSync(publicDir, { withFileTypes: true })) {
    if (entry.isFile() && /\.(js|css)$/.test(entry.name))
      assets.set(`/${entry.name}`, asset(join(publicDir, entry.name)));
  }
  const core = asset(join(dirname(corePackage), coreModule));
  // Its source map is not served: drop the pointer so a browser does not ask for it.
  assets.set('/assets/core.js', {
    ...core,
    body: core.body.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'),
  });
  assets.set('/vendor/uPlot.esm.js', asset(uplotJs));
  assets.set('/vendor/uPlot.min.css', asset(uplotJs.replace(/uPlot\.esm\.js$/, 'uPlot.min.css')));
  return assets;
}

/**
 * Serves the dashboard's files without a token, like the page itself: they hold no data, and the
 * page sends the read token only to `/v1/*`. `no-cache`: a browser revalidates after a deploy.
 */
export function serveDashboard(app: Hono): void {
  for (const [path, { body, type }] of loadDashboardAssets()) {
    app.get(path, (c) => c.body(body, 200, { 'content-type': type, 'cache-control': 'no-cache' }));
  }
}
