// The layout rules of STYLE.md "Web console", checked on the sources:
// features never import each other, imports flow one way (shared code
// never imports a feature or the app), and there are no barrel files.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : /\.(ts|tsx)$/.test(n) ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)].map((m) =>
    relative(SRC, resolve(dirname(file), m[1]!)).split(sep).join('/'),
  );
}

const all = files(SRC).filter((f) => !f.endsWith('.d.ts'));
const area = (rel: string) => {
  const parts = rel.split('/');
  return parts[0] === 'features' ? `features/${parts[1]}` : parts[0]!;
};

describe('architecture', () => {
  it('features never import another feature', () => {
    const bad: string[] = [];
    for (const f of all) {
      const from = area(relative(SRC, f).split(sep).join('/'));
      if (!from.startsWith('features/')) continue;
      for (const i of imports(f)) {
        const to = area(i);
        if (to.startsWith('features/') && to !== from) bad.push(`${relative(SRC, f)} → ${i}`);
        if (to === 'app') bad.push(`${relative(SRC, f)} → ${i}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('shared code imports neither features nor the app shell (tests aside)', () => {
    const bad: string[] = [];
    for (const f of all) {
      const rel = relative(SRC, f).split(sep).join('/');
      const from = area(rel);
      if (from.startsWith('features/') || from === 'app' || from === 'main.tsx' || /\.test\.tsx?$/.test(rel)) continue;
      for (const i of imports(f)) {
        const to = area(i);
        if (to.startsWith('features/') || to === 'app') bad.push(`${rel} → ${i}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('has no barrel files', () => {
    expect(all.filter((f) => /[/\\]index\.tsx?$/.test(f)).map((f) => relative(SRC, f))).toEqual([]);
  });
});
