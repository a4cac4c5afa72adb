/**
 * Loads a Lambda entry module (`lambda/functions/<name>`) as the runtime does, with extra environment.
 * `isolated` gives it a fresh module registry (a cold start), whose SDK classes the stubs of the calling
 * test file do not reach; without it the module is loaded once into the file's registry, where they do.
 */
export function loadEntry<T>(name: string, env: Record<string, string>, options: { readonly isolated: boolean }): T {
  Object.assign(process.env, env);
  let handler: T | undefined;
  const load = () => {
    handler = (require(`../../lambda/functions/${name}`) as { handler: T }).handler;
  };
  if (options.isolated) jest.isolateModules(load);
  else load();
  if (handler === undefined) throw new Error(`lambda/functions/${name} exports no handler`);
  return handler;
}

/** Puts the environment back after each test of the file. */
export function restoreEnvironmentAfterEach(): void {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });
}
