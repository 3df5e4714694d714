export declare const SOURCE_DIRS: string[];
export declare const STAMP: string;
export declare const FROM_SOURCE_ENV: string;
export declare function sourceDigest(root: string): string;
export declare function builtDigest(root: string): string | undefined;
export declare function pickEntry(o: {
  fromSource: string | undefined;
  built: string | undefined;
  current: () => string;
}): 'dist' | 'source';
export declare function entryModule(
  root: string,
  env?: NodeJS.ProcessEnv,
): { which: 'dist' | 'source'; file: string };
