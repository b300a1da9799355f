/**
 * Security tests of the dashboard: hostile data renders inert, POSTs need a CSRF token, security headers,
 * binding beyond loopback needs credentials (and nothing listens otherwise), token and basic auth,
 * read-only mode, unsafe related-action URLs.
 */
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { getRequestListener } from '@hono/node-server';
import { ConfigurationError } from '../../src/index.ts';
import { createDashboard, isLoopbackHost, serveDashboard, type Dashboard } from '../../src/dashboard/index.ts';
import { Client } from './client.ts';
import { closeDemo, openConveyor, seedDemo, XSS, type Demo } from './fixtures.ts';

let demo: Demo;
before(async () => {
  demo = await seedDemo(await openConveyor('sqlite'));
});
after(async () => {
  if (demo) await closeDemo(demo);
});

/** Markup that would run script if a payload escaped its context. */
function assertInert(html: string, where: string): void {
  const scripts = [...html.matchAll(/<script\b[^>]*>/gi)].map((m) => m[0]);
  for (const s of scripts)
    assert.match(
      s,
      /^<script src="[^"]*\/static\/(htmx\.min|dashboard)\.js" defer>$/,
      `${where}: unexpected script tag ${s}`,
    );
  assert.doesNotMatch(
    html,
    /<(img|svg|iframe|object|embed)\b[^>]*\son\w+\s*=/i,
    `${where}: an event-handler attribute in live markup`,
  );
  assert.doesNotMatch(html, /\son(error|load)\s*=\s*["']?window/i, `${where}: a payload handler attribute`);
  assert.doesNotMatch(html, /<\/pre><script>/, `${where}: the error payload closed its <pre>`);
  assert.doesNotMatch(html, /href\s*=\s*["']?\s*javascript:/i, `${where}: a javascript: link`);
}

describe('hostile job data renders inert', () => {
  let dashboard: Dashboard;
  let client: Client;
  before(() => {
    dashboard = createDashboard(demo.conveyor);
    client = new Client(dashboard.fetch);
  });
  after(() => dashboard.close());

  it('in the jobs list, the job page, its live fragment and the timeout log', async () => {
    const pages = [
      '/jobs',
      `/jobs?text=${encodeURIComponent('<script>')}`,
      `/jobs/${demo.ids.xss}`,
      `/jobs/${demo.ids.xss}?fragment=live`,
      '/timeouts',
      '/timeouts?kind=hard_kill',
      '/jobs?groupBy=excName',
    ];
    for (const path of pages) {
      const page = await client.get(path);
      assert.equal(page.status, 200, path);
      assertInert(page.html, path);
    }
    const job = (await client.get(`/jobs/${demo.ids.xss}`)).html;
    // The payloads are shown, as text.
    assert.ok(job.includes('&lt;script&gt;window.__xss = \\&quot;arg\\&quot;&lt;/script&gt;'), 'args shown escaped');
    assert.ok(
      job.includes('&lt;/pre&gt;&lt;script&gt;window.__xss = &quot;error&quot;&lt;/script&gt;'),
      'exception shown escaped',
    );
    assert.ok(
      job.includes('&lt;img src=x onerror=&quot;window.__xss=&#39;description&#39;&quot;&gt;'),
      'description shown escaped',
    );
  });

  it('in filter values echoed back into the form', async () => {
    const evil = '"><script>alert(1)</script>';
    const page = await client.get(
      `/jobs?text=${encodeURIComponent(evil)}&channel=${encodeURIComponent(evil)}&model=${encodeURIComponent(evil)}&from=${encodeURIComponent(evil)}`,
    );
    assertInert(page.html, 'filters');
    assert.ok(page.html.includes('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"'));
  });

  it('in notices, which only come from known codes', async () => {
    const page = await client.get(
      `/jobs?notice=${encodeURIComponent('<b>pwned</b>')}&n=${encodeURIComponent('<script>')}`,
    );
    assert.doesNotMatch(page.html, /pwned/);
    assertInert(page.html, 'notice');
  });

  it('in related-action URLs: only http(s) and /paths become links', async () => {
    const model = demo.conveyor.model(
      'xss.related',
      {
        async js() {
          return 1;
        },
        async data() {
          return 1;
        },
        async good() {
          return 1;
        },
        async broken() {
          return 1;
        },
      },
      {
        js: { relatedAction: { url: () => 'javascript:alert(document.cookie)' } },
        data: { relatedAction: { url: 'data:text/html,<script>alert(1)</script>' } },
        good: { relatedAction: { url: (job) => `https://erp.example/order?id=${job.records[0]}&x="><b>` } },
        broken: {
          relatedAction: {
            url: () => {
              throw new Error('<i>lookup failed</i>');
            },
          },
        },
      },
    );
    const ids = [];
    for (const m of ['js', 'data', 'good', 'broken'] as const)
      ids.push((await model.browse(['"><script>']).withDelay({ eta: '1h' })[m]()).id);
    const pages = await Promise.all(ids.map((id) => client.get(`/jobs/${id}`)));
    pages.forEach((p, i) => assertInert(p.html, `related ${i}`));
    assert.doesNotMatch(pages[0]!.html, /class="related"/);
    assert.match(pages[0]!.html, /related action gave an unsupported URL/);
    assert.doesNotMatch(pages[1]!.html, /class="related"/);
    assert.match(
      pages[2]!.html,
      /<a class="related" href="https:\/\/erp.example\/order\?id=%22%3E%3Cscript%3E&amp;x=%22%3E%3Cb%3E" rel="noopener noreferrer">/,
    );
    assert.match(pages[3]!.html, /related action failed: &lt;i&gt;lookup failed&lt;\/i&gt;/);
  });
});

describe('CSRF', () => {
  let dashboard: Dashboard;
  before(() => {
    dashboard = createDashboard(demo.conveyor);
  });
  after(() => dashboard.close());

  it('refuses a POST without a token, with a wrong one, or with one minted for another cookie', async () => {
    const client = new Client(dashboard.fetch);
    await client.get('/jobs');
    const target = `/jobs/${demo.ids.eta}/cancel`;
    assert.equal((await client.post(target, { _csrf: null })).status, 403);
    assert.equal((await client.post(target, { _csrf: 'forged' })).status, 403);
    const other = new Client(dashboard.fetch);
    await other.get('/jobs');
    assert.equal((await client.post(target, { _csrf: other.csrf! })).status, 403, 'token of another session');
    const noCookie = new Client(dashboard.fetch);
    assert.equal((await noCookie.post(target, { _csrf: client.csrf! })).status, 403, 'token without its cookie');
    const anotherDashboard = createDashboard(demo.conveyor);
    try {
      const c2 = new Client(anotherDashboard.fetch);
      for (const [k, v] of client.cookies) c2.cookies.set(k, v);
      assert.equal((await c2.post(target, { _csrf: client.csrf! })).status, 403, 'token signed by another secret');
    } finally {
      anotherDashboard.close();
    }
    const forbidden = await client.post(target, { _csrf: null });
    assert.match(forbidden.html, /missing or invalid CSRF token/);
    assert.equal((await demo.conveyor.jobs.get(demo.ids.eta))!.state, 'pending', 'nothing changed');
  });

  it('accepts the token from the page, or in the X-CSRF-Token header', async () => {
    const client = new Client(dashboard.fetch);
    await client.get(`/jobs/${demo.ids.eta}`);
    const ok = await client.post(`/jobs/${demo.ids.eta}/requeue`, {});
    assert.equal(ok.status, 303);
    const viaHeader = await client.request(`/jobs/${demo.ids.eta}/requeue`, {
      method: 'POST',
      headers: { 'x-csrf-token': client.csrf! },
    });
    assert.equal(viaHeader.status, 303);
  });

  it('refuses other methods', async () => {
    const client = new Client(dashboard.fetch);
    assert.equal((await client.request('/jobs', { method: 'DELETE' })).status, 403);
    assert.equal((await client.request('/jobs', { method: 'PUT', body: 'x' })).status, 403);
  });
});

describe('security headers', () => {
  it('sends a strict CSP (only self scripts and styles) and the usual hardening headers', async () => {
    const dashboard = createDashboard(demo.conveyor);
    try {
      for (const path of ['/jobs', `/jobs/${demo.ids.graphFailed}`, '/nowhere', '/metrics']) {
        const res = await dashboard.fetch(new Request(`http://x${path}`));
        const csp = res.headers.get('content-security-policy') ?? '';
        assert.match(csp, /default-src 'none'/, path);
        assert.match(csp, /script-src 'self'(;|$)/, path);
        assert.match(csp, /style-src 'self'(;|$)/, path);
        assert.match(csp, /frame-ancestors 'none'/, path);
        assert.match(csp, /form-action 'self'/, path);
        assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN');
        assert.equal(res.headers.get('referrer-policy'), 'same-origin');
        await res.body?.cancel();
      }
      const page = await (await dashboard.fetch(new Request('http://x/jobs'))).text();
      assert.doesNotMatch(page, /\sstyle=/, 'no inline style attributes (the CSP would block them)');
      assert.doesNotMatch(page, /<style/, 'no inline style elements');
      const cookie = (await dashboard.fetch(new Request('http://x/jobs'))).headers.getSetCookie()[0] ?? '';
      assert.match(cookie, /HttpOnly/);
      assert.match(cookie, /SameSite=Lax/);
      const tls = (await dashboard.fetch(new Request('https://x/jobs'))).headers.getSetCookie()[0] ?? '';
      assert.match(tls, /Secure/);
    } finally {
      dashboard.close();
    }
  });
});

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Whether something accepts TCP connections on the port. */
function listening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest({ host, port, path: '/healthz', timeout: 2000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

describe('binding', () => {
  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', 'LOCALHOST'])
      assert.ok(isLoopbackHost(h), h);
    for (const h of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '::ffff:10.0.0.1', ''])
      assert.ok(!isLoopbackHost(h), h);
  });

  it('binds 127.0.0.1 by default', async () => {
    const server = await serveDashboard(demo.conveyor);
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const res = await fetch(`${server.url}jobs`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    } finally {
      await server.close();
    }
    assert.equal(await listening(server.port), false, 'closed');
  });

  it('refuses a non-local bind without a token or basic auth, and does not listen', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
      const port = await freePort();
      await assert.rejects(serveDashboard(demo.conveyor, { host, port }), (err: unknown) => {
        assert.ok(err instanceof ConfigurationError);
        assert.match((err as Error).message, /refusing to listen on .* without authentication/);
        return true;
      });
      assert.equal(await listening(port), false, `${host}:${port} must not listen`);
    }
  });

  it('rejects bad options', async () => {
    await assert.rejects(serveDashboard(demo.conveyor, { token: 'short' }), ConfigurationError);
    await assert.rejects(
      serveDashboard(demo.conveyor, { basicAuth: { username: 'a:b', password: 'x' } }),
      ConfigurationError,
    );
    await assert.rejects(serveDashboard(demo.conveyor, { port: 70000 }), ConfigurationError);
    await assert.rejects(serveDashboard(demo.conveyor, { nope: 1 } as never), /unknown option 'nope'/);
    assert.throws(() => createDashboard(demo.conveyor, { basePath: '/a/../b' }), ConfigurationError);
    assert.throws(() => createDashboard(demo.conveyor, { timeZone: 'Mars/Olympus' }), ConfigurationError);
  });
});

describe('authentication', () => {
  it('refuses a token that cannot travel as an HTTP bearer token', async () => {
    assert.throws(
      () => createDashboard(demo.conveyor, { token: 'has spaces in it' }),
      /token may hold only letters, digits/,
    );
    assert.throws(() => createDashboard(demo.conveyor, { token: 'semi;colon:x' }), ConfigurationError);
  });

  it('a session cookie signed under another secret, or for another token, is refused', async () => {
    const a = createDashboard(demo.conveyor, { token: 'token-number-one', secret: 'secret-a' });
    const b = createDashboard(demo.conveyor, { token: 'token-number-one', secret: 'secret-b' });
    const c = createDashboard(demo.conveyor, { token: 'token-number-two', secret: 'secret-a' });
    try {
      const login = await a.fetch(new Request('http://x/jobs?token=token-number-one'));
      assert.equal(login.status, 302);
      const cookie = login.headers
        .getSetCookie()
        .find((x) => x.startsWith('conveyor_session='))!
        .split(';')[0]!;
      const status = async (d: Dashboard) => {
        const r = await d.fetch(new Request('http://x/jobs', { headers: { cookie } }));
        await r.body?.cancel();
        return r.status;
      };
      assert.equal(await status(a), 200);
      assert.equal(await status(b), 401);
      assert.equal(await status(c), 401);
    } finally {
      a.close();
      b.close();
      c.close();
    }
  });

  it('with a token: 401 without it, Bearer works, ?token= sets a session cookie; /healthz stays public', async () => {
    const token = 'correct-horse-battery-staple';
    const server = await serveDashboard(demo.conveyor, { host: '0.0.0.0', token });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const anon = await fetch(`${base}/jobs`, { redirect: 'manual' });
      assert.equal(anon.status, 401);
      assert.match(await anon.text(), /\?token=/);
      const metrics = await fetch(`${base}/metrics`);
      assert.equal(metrics.status, 401);
      await metrics.body?.cancel();
      const wrong = await fetch(`${base}/jobs`, { headers: { authorization: 'Bearer nope-nope-nope' } });
      assert.equal(wrong.status, 401);
      await wrong.body?.cancel();
      const bearer = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(bearer.status, 200);
      await bearer.body?.cancel();
      const login = await fetch(`${base}/jobs?state=failed&token=${token}`, { redirect: 'manual' });
      assert.equal(login.status, 302);
      assert.equal(login.headers.get('location'), '/jobs?state=failed');
      const session = login.headers.getSetCookie().find((c) => c.startsWith('conveyor_session='))!;
      assert.match(session, /HttpOnly/);
      const withCookie = await fetch(`${base}/jobs`, { headers: { cookie: session.split(';')[0]! } });
      assert.equal(withCookie.status, 200);
      await withCookie.body?.cancel();
      const forged = await fetch(`${base}/jobs`, { headers: { cookie: 'conveyor_session=forged' } });
      assert.equal(forged.status, 401);
      await forged.body?.cancel();
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
    } finally {
      await server.close();
    }
  });

  it('with basic auth: a challenge without credentials, 200 with the right ones', async () => {
    const server = await serveDashboard(demo.conveyor, {
      host: '0.0.0.0',
      basicAuth: { username: 'ops', password: 's3cret!' },
    });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const anon = await fetch(`${base}/jobs`);
      assert.equal(anon.status, 401);
      assert.match(anon.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      await anon.body?.cancel();
      const bad = await fetch(`${base}/jobs`, {
        headers: { authorization: `Basic ${Buffer.from('ops:wrong').toString('base64')}` },
      });
      assert.equal(bad.status, 401);
      await bad.body?.cancel();
      const good = await fetch(`${base}/jobs`, {
        headers: { authorization: `Basic ${Buffer.from('ops:s3cret!').toString('base64')}` },
      });
      assert.equal(good.status, 200);
      await good.body?.cancel();
    } finally {
      await server.close();
    }
  });

  it('protects a mounted handler too (getRequestListener in a node:http server)', async () => {
    const dashboard = createDashboard(demo.conveyor, { token: 'mounted-token-123', basePath: '/queue' });
    const server = createServer(getRequestListener(dashboard.fetch, { overrideGlobalObjects: false }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/queue`;
      const anon = await fetch(`${base}/jobs`);
      assert.equal(anon.status, 401);
      await anon.body?.cancel();
      const ok = await fetch(`${base}/jobs`, { headers: { authorization: 'Bearer mounted-token-123' } });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /href="\/queue\/jobs\/\d+"/);
    } finally {
      dashboard.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('read-only mode', () => {
  it('hides every action and refuses every POST, even with a valid CSRF token', async () => {
    const dashboard = createDashboard(demo.conveyor, { readOnly: true });
    try {
      const client = new Client(dashboard.fetch);
      for (const path of [
        '/jobs',
        `/jobs/${demo.ids.graphFailed}`,
        `/jobs/${demo.ids.graphFailed}?fragment=live`,
        '/functions',
        '/scheduled',
      ]) {
        const page = await client.get(path);
        assert.doesNotMatch(page.html, /method="post"/, path);
        assert.doesNotMatch(page.html, /data-action=|name="action"|type="checkbox" name="id"|>Save<|>Run now</, path);
      }
      assert.match((await client.get('/jobs')).html, /<span class="badge readonly"/);
      const writable = createDashboard(demo.conveyor, { readOnly: false, secret: 'shared-secret' });
      const normal = new Client(writable.fetch);
      await normal.get('/jobs');
      writable.close();
      const ro = createDashboard(demo.conveyor, { readOnly: true, secret: 'shared-secret' });
      const roClient = new Client(ro.fetch);
      for (const [k, v] of normal.cookies) roClient.cookies.set(k, v);
      roClient.csrf = normal.csrf;
      const before = (await demo.conveyor.jobs.get(demo.ids.graphFailed))!.state;
      for (const [path, form] of [
        [`/jobs/${demo.ids.graphFailed}/requeue`, {}],
        ['/jobs/bulk', { action: 'cancel', id: String(demo.ids.graphFailed) }],
      ] as const) {
        const res = await roClient.post(path, form);
        assert.equal(res.status, 403, path);
        assert.match(res.html, /read-only/);
      }
      assert.equal((await demo.conveyor.jobs.get(demo.ids.graphFailed))!.state, before);
      ro.close();
    } finally {
      dashboard.close();
    }
  });
});
