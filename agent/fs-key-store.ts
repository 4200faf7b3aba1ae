/**
 * KeyStore on the local file system: whole-file writes (temp + fsync +
 * link/rename + directory fsync), so a kill -9 at any instant leaves either
 * the old file or the new one, never half of either.
 */
import { chmod, link, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyStore, StoredFile } from './key-store.js';

let tempCounter = 0;

export class FsKeyStore implements KeyStore {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  async prepare(): Promise<boolean> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const st = await stat(this.dir);
    if ((st.mode & 0o077) === 0) return false;
    await chmod(this.dir, 0o700);
    return true;
  }

  async read(name: string): Promise<StoredFile | undefined> {
    const p = this.path(name);
    try {
      const fh = await open(p, 'r');
      try {
        const st = await fh.stat();
        return { bytes: new Uint8Array(await fh.readFile()), mode: st.mode & 0o777 };
      } finally {
        await fh.close();
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async #writeTemp(name: string, bytes: Uint8Array, mode: number): Promise<string> {
    tempCounter += 1;
    const tmp = this.path(`${name}.tmp-${process.pid}-${tempCounter}`);
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(bytes);
      await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return tmp;
  }

  async create(name: string, bytes: Uint8Array, mode: number): Promise<'written' | 'exists'> {
    const tmp = await this.#writeTemp(name, bytes, mode);
    try {
      await link(tmp, this.path(name));
      await this.#syncDir();
      return 'written';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
      throw e;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  async replace(name: string, bytes: Uint8Array, mode: number): Promise<void> {
    const tmp = await this.#writeTemp(name, bytes, mode);
    try {
      await rename(tmp, this.path(name));
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    await this.#syncDir();
  }

  async remove(name: string): Promise<void> {
    await unlink(this.path(name)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await this.#syncDir();
  }

  async #syncDir(): Promise<void> {
    const fh = await open(this.dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async list(prefix: string): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((n) => n.startsWith(prefix) && !n.includes('.tmp'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }
}
