import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

/**
 * The constructs' public surface is documented twice, for two readers: a doc comment on each member (what an
 * editor shows) and the README's members tables (what a newcomer reads). Both stay complete as members are added.
 */

const ROOT = path.join(__dirname, '..', '..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

interface Member {
  readonly name: string;
  readonly documented: boolean;
}

/** The public members of a class, or the properties of an interface, with whether each has a doc comment. */
function membersOf(file: string, declaration: string): Member[] {
  const source = ts.createSourceFile(file, readFileSync(path.join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const found = source.statements.find((statement): statement is ts.ClassDeclaration | ts.InterfaceDeclaration => (ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement)) && statement.name?.text === declaration);
  if (found === undefined) throw new Error(`${file} has no ${declaration}`);
  return found.members.flatMap((member: ts.ClassElement | ts.TypeElement) => {
    if (member.name === undefined || !ts.isIdentifier(member.name) || ts.isConstructorDeclaration(member)) return [];
    const modifiers = ts.canHaveModifiers(member) ? (ts.getModifiers(member) ?? []) : [];
    if (modifiers.some((modifier) => modifier.kind === ts.SyntaxKind.PrivateKeyword || modifier.kind === ts.SyntaxKind.ProtectedKeyword)) return [];
    return [{ name: member.name.text, documented: ts.getJSDocCommentsAndTags(member).length > 0 }];
  });
}

/** The README's text from a heading to the next heading of the same or a higher level. */
function section(heading: string): string {
  const start = README.indexOf(heading);
  if (start < 0) throw new Error(`the README has no "${heading}"`);
  const level = /^#+/.exec(heading)?.[0].length ?? 0;
  const rest = README.slice(start + heading.length);
  const next = new RegExp(`^#{1,${level}} `, 'm').exec(rest);
  return rest.slice(0, next?.index ?? rest.length);
}

describe.each([
  ['RotatingApiKeys', 'lib/rotating-api-keys.ts', '#### Members of `RotatingApiKeys`'],
  ['RotatingApiKeysReplica', 'lib/replica.ts', '#### `RotatingApiKeysReplica`: props and members'],
  ['RotatingApiKeysReplicaProps', 'lib/replica.ts', '#### `RotatingApiKeysReplica`: props and members'],
])('%s', (declaration, file, heading) => {
  const members = membersOf(file, declaration);

  it('has a doc comment on every public member', () => {
    expect(members.length).toBeGreaterThan(2);
    expect(members.filter((member) => !member.documented).map((member) => member.name)).toEqual([]);
  });

  it('has every public member in the README\'s table', () => {
    const table = section(heading);
    expect(members.filter((member) => !new RegExp(`\`${member.name}(\\(|\`)`).test(table)).map((member) => member.name)).toEqual([]);
  });
});
