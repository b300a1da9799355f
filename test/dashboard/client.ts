/**
 * A small HTTP client for dashboard tests: talks to a `fetch` handler (or a real server), keeps cookies,
 * and fills in the CSRF token from the last page it read.
 */

/** Anything that answers a Request. */
export type Fetcher = (request: Request) => Promise<Response>;

/** A response with its body read. */
export interface Page {
  status: number;
  headers: Headers;
  html: string;
}

/** A cookie-keeping client. */
export class Client {
  readonly cookies = new Map<string, string>();
  readonly #fetch: Fetcher;
  readonly #origin: string;
  /** The CSRF token of the last page read. */
  csrf: string | undefined;

  constructor(fetcher: Fetcher, origin = 'http://dashboard.test') {
    this.#fetch = fetcher;
    this.#origin = origin;
  }

  /** Send a request (redirects are not followed). */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size && !headers.has('cookie'))
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await this.#fetch(new Request(new URL(path, this.#origin), { ...init, headers, redirect: 'manual' }));
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, i).trim(), pair!.slice(i + 1).trim());
    }
    return res;
  }

  /** GET a page and remember its CSRF token. */
  async get(path: string, init: RequestInit = {}): Promise<Page> {
    const res = await this.request(path, init);
    const html = await res.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    if (token) this.csrf = token;
    return { status: res.status, headers: res.headers, html };
  }

  /** POST a form; `_csrf` is added from the last page unless given (pass `null` to leave it out). */
  async post(path: string, form: Record<string, string | string[] | null>, init: RequestInit = {}): Promise<Page> {
    const body = new URLSearchParams();
    const fields = { _csrf: this.csrf ?? null, ...form };
    for (const [k, v] of Object.entries(fields)) {
      if (v === null) continue;
      for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
    }
    const res = await this.request(path, {
      method: 'POST',
      body,
      ...init,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(init.headers as Record<string, string> | undefined),
      },
    });
    return { status: res.status, headers: res.headers, html: await res.text() };
  }
}

/** The `data-job` ids of the rows of the jobs table, in order. */
export function rowIds(html: string): number[] {
  const table = /<table class="jobs">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
  return [...table.matchAll(/<tr data-job="(\d+)"/g)].map((m) => Number(m[1]));
}

/** Decode the few entities `hono/html` produces. */
export function unescapeHtml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/** The text of the "why" sentence on a job page. */
export function whySentence(html: string): string | undefined {
  const m = /<span class="sentence">([\s\S]*?)<\/span>/.exec(html);
  return m ? unescapeHtml(m[1]!) : undefined;
}
