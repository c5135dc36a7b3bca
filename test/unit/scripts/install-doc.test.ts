import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { docCommands, expectationOf, judge, type DocCommand } from '../../../scripts/lib/install-doc.js';
import { dockerfileBaseImages, webhookImageName } from '../../../scripts/lib/image.js';

function docWith(text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'install-doc-')), 'doc.md');
  fs.writeFileSync(file, text);
  return file;
}

const FENCE = '```';

describe('docCommands', () => {
  const file = docWith(
    [
      'Intro.',
      `${FENCE}sh`,
      'echo not marked',
      FENCE,
      '<!-- run: demo -->',
      `${FENCE}sh`,
      '# 1. A heading, not a note.',
      'kubectl get pods \\',
      '  -o wide',
      '#    a note on the command above',
      '',
      "kubectl apply -f - <<'EOF'",
      'kind: Thing',
      '# not a comment: inside the heredoc',
      'EOF',
      '# Error from server (Forbidden): denied',
      '# the request',
      '# 2. Next step.',
      'echo done',
      FENCE,
    ].join('\n'),
  );

  it('splits the marked block into commands with continuations, heredocs and the notes after each', () => {
    expect(docCommands('demo', file)).toEqual([
      { text: 'kubectl get pods \\\n  -o wide', notes: ['   a note on the command above'] },
      { text: "kubectl apply -f - <<'EOF'\nkind: Thing\n# not a comment: inside the heredoc\nEOF", notes: ['Error from server (Forbidden): denied', 'the request'] },
      { text: 'echo done', notes: [] },
    ]);
  });

  it('refuses a name with no marked block', () => {
    expect(() => docCommands('missing', file)).toThrow('has no `<!-- run: missing -->` before a sh block');
  });
});

describe('expectationOf and judge', () => {
  const denial: DocCommand = { text: 'kubectl apply', notes: ['Error from server (Forbidden): admission webhook', '"x" denied the request: over'] };
  const dryRun: DocCommand = { text: 'kubectl apply', notes: ['workloadplacement.tmc.kcp.io/fits created (server dry run)'] };
  const plain: DocCommand = { text: 'kubectl get pods', notes: ['   explains something'] };

  it.each([
    ['a quoted error', denial, { fails: true, output: 'Error from server (Forbidden): admission webhook "x" denied the request: over' }],
    ['a quoted dry-run creation', dryRun, { fails: false, output: 'workloadplacement.tmc.kcp.io/fits created (server dry run)' }],
    ['a note that quotes nothing', plain, { fails: false }],
  ])('%s', (_name, command, expected) => {
    expect(expectationOf(command)).toEqual(expected);
  });

  it('accepts kubectl output that matches, whatever its line breaks', () => {
    expect(judge(denial, { code: 1, stdout: '', stderr: 'Error from server (Forbidden): admission webhook\n"x" denied the request: over\n' })).toBeUndefined();
  });

  it.each([
    ['an admission where the doc shows a denial', denial, { code: 0, stdout: 'created', stderr: '' }, 'expected a failure, got exit 0'],
    ['another denial message', denial, { code: 1, stdout: '', stderr: 'Error from server (Forbidden): something else' }, 'expected output containing'],
    ['a failing plain command', plain, { code: 1, stdout: '', stderr: 'boom' }, 'expected success, got exit 1: boom'],
  ])('reports %s', (_name, command, run, problem) => {
    expect(judge(command, run)).toContain(problem);
  });
});

describe('docs/install.md and the image', () => {
  it('marks the install, verify, smoke and rotation blocks the node suite runs', () => {
    expect(docCommands('install').map((c) => c.text)).toEqual([
      'npx tsx scripts/certs.ts',
      'kubectl apply -f manifests/namespace.yaml',
      'npx tsx scripts/ca-bundle.ts --secret | kubectl apply -f -',
      'npx tsx scripts/ca-bundle.ts',
      'kubectl apply -k manifests/',
    ]);
    expect(docCommands('verify')[0]?.text).toContain('rollout status deployment/placement-quota-webhook');
    expect(docCommands('smoke').map((c) => expectationOf(c).fails)).toEqual([false, false, true, false, false]);
    expect(docCommands('rotate-serving-certificate').map((c) => c.text)).toEqual(['npx tsx scripts/certs.ts', 'npx tsx scripts/ca-bundle.ts --secret | kubectl apply -f -']);
  });

  it("builds FROM the Dockerfile's one outside base, and tags what the Deployment runs", () => {
    expect(dockerfileBaseImages()).toEqual(['node:20-bookworm-slim']);
    expect(webhookImageName()).toBe('placement-quota-webhook:0.1.0');
  });
});
