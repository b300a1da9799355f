/**
 * The page shell: head (stylesheet and the vendored htmx, both served by the dashboard itself), the
 * navigation and the notice line. No inline script or style anywhere (the CSP forbids them).
 * @module
 */
import { h, href, nothing, type Html, type ViewContext } from './html.ts';

/** Navigation entries: path, label. */
const NAV: readonly (readonly [string, string])[] = [
  ['/jobs', 'Jobs'],
  ['/channels', 'Channels'],
  ['/functions', 'Job functions'],
  ['/scheduled', 'Scheduled jobs'],
  ['/runners', 'Runners'],
  ['/timeouts', 'Timeout log'],
];

/** Notices shown after an action, by code (never free text from the URL). */
const NOTICES: Record<string, (n: number) => string> = {
  requeued: (n) => `Requeued ${n} job${n === 1 ? '' : 's'}.`,
  done: (n) => `Set ${n} job${n === 1 ? '' : 's'} to done.`,
  cancelled: (n) => `Cancelled ${n} job${n === 1 ? '' : 's'}.`,
  none: () => 'No job was selected, or none could be changed in its current state.',
  saved: () => 'Settings saved.',
  paused: () => 'Scheduled job paused.',
  resumed: () => 'Scheduled job resumed.',
  ran: () => 'Scheduled job enqueued to run now.',
  'channel-paused': () => 'Channel paused: runners start no new job in it or below; running jobs finish.',
  'channel-resumed': () => 'Channel resumed.',
  'channel-not-paused': () => 'That channel was not paused at runtime.',
};

/** The notice line for `?notice=code&n=3`. */
export function notice(code: string | undefined, n: string | undefined): Html {
  const make = code ? NOTICES[code] : undefined;
  if (!make) return nothing;
  const count = Number.parseInt(n ?? '0', 10);
  return h`<p class="notice" role="status">${make(Number.isFinite(count) ? count : 0)}</p>`;
}

/** A full page. `active` is the navigation path to highlight. */
export function page(ctx: ViewContext, opts: { title: string; active: string; body: Html; notice?: Html }): Html {
  return h`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{"includeIndicatorCSS":false,"history":false}'>
<title>${opts.title} · ${ctx.title}</title>
<link rel="icon" href="${ctx.base}/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${ctx.base}/static/dashboard.css">
<script src="${ctx.base}/static/htmx.min.js" defer></script>
<script src="${ctx.base}/static/dashboard.js" defer></script>
</head>
<body>
<header class="top">
  <a class="brand" href="${href(ctx, '/jobs')}">${ctx.title}</a>
  <nav>
    ${NAV.map(([path, label]) => h`<a href="${href(ctx, path)}"${path === opts.active ? h` class="active" aria-current="page"` : nothing}>${label}</a>`)}
  </nav>
  ${ctx.readOnly ? h`<span class="badge readonly" title="Actions are disabled">read-only</span>` : nothing}
</header>
<main>
${opts.notice ?? nothing}
${opts.body}
</main>
<footer>conveyor-queue dashboard · times in ${ctx.timeZone}</footer>
</body>
</html>`;
}

/** A small error page body (the message is escaped). */
export function errorBody(status: number, message: string): Html {
  return h`<section class="panel error"><h1>${status === 404 ? 'Not found' : status === 403 ? 'Forbidden' : status === 400 ? 'Bad request' : 'Error'}</h1><p>${message}</p></section>`;
}
