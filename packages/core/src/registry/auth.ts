/**
 * Credentials of `stowage serve`: an htpasswd-style file (`user:<bcrypt hash>` lines, as
 * distribution's `auth.htpasswd` reads; `htpasswd -B` writes them) checked against HTTP
 * Basic credentials, and/or a bearer token compared in constant time.
 *
 * A bcrypt check costs tens of milliseconds: a header that passed once is remembered (by its
 * SHA-256), so a pull of many blobs pays it once.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { StowageError } from '../errors.js';

export interface AuthConfig {
  /** Text of an htpasswd file (bcrypt hashes only: `$2a$`, `$2b$`, `$2y$`). */
  readonly htpasswd?: string;
  /** A bearer token clients send as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Realm named in challenges (default "stowage"). */
  readonly realm?: string;
}

export class Authenticator {
  readonly #users = new Map<string, string>();
  readonly #token: Buffer | undefined;
  readonly #realm: string;
  readonly #passed = new Set<string>();

  constructor(cfg: AuthConfig) {
    if (cfg.htpasswd !== undefined) {
      cfg.htpasswd.split(/\r?\n/).forEach((line, i) => {
        const l = line.trim();
        if (!l || l.startsWith('#')) return;
        const colon = l.indexOf(':');
        const user = l.slice(0, colon);
        const hash = l.slice(colon + 1);
        if (colon <= 0 || !/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
          throw new StowageError('INVALID_ARGUMENT', `htpasswd line ${i + 1}: expected "user:<bcrypt hash>" (htpasswd -B); other hash kinds are not accepted`);
        }
        this.#users.set(user, hash);
      });
      if (this.#users.size === 0) throw new StowageError('INVALID_ARGUMENT', 'the htpasswd file names no user');
    }
    if (cfg.token !== undefined) {
      const t = cfg.token.trim();
      if (t.length < 16) throw new StowageError('INVALID_ARGUMENT', 'the bearer token must be at least 16 characters');
      this.#token = Buffer.from(t);
    }
    if (this.#users.size === 0 && !this.#token) throw new StowageError('INVALID_ARGUMENT', 'no credentials: give an htpasswd file or a bearer token');
    this.#realm = cfg.realm ?? 'stowage';
  }

  /** The WWW-Authenticate challenge of a 401. */
  challenge(): string {
    return this.#users.size ? `Basic realm="${this.#realm}"` : `Bearer realm="${this.#realm}"`;
  }

  /** True when the Authorization header carries valid credentials. */
  async check(header: string | undefined): Promise<boolean> {
    if (!header) return false;
    const key = createHash('sha256').update(header).digest('hex');
    if (this.#passed.has(key)) return true;
    const ok = await this.#verify(header);
    if (ok) {
      if (this.#passed.size > 1000) this.#passed.clear();
      this.#passed.add(key);
    }
    return ok;
  }

  async #verify(header: string): Promise<boolean> {
    const [scheme, value = ''] = header.trim().split(/\s+/, 2);
    if (/^bearer$/i.test(scheme ?? '') && this.#token) {
      const got = Buffer.from(value);
      return got.length === this.#token.length && timingSafeEqual(got, this.#token);
    }
    if (/^basic$/i.test(scheme ?? '') && this.#users.size) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return false;
      const hash = this.#users.get(decoded.slice(0, colon));
      if (!hash) return false;
      return bcrypt.compare(decoded.slice(colon + 1), hash);
    }
    return false;
  }
}
