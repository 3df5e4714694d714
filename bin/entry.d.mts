export interface SourceFile {
  rel: string;
  size: number;
  mtimeMs: number;
}
export interface Stamp {
  sources: string;
  startedAt: number;
  sizes: Record<string, number>;
}
export declare const SOURCE_DIRS: string[];
export declare const STAMP: string;
export declare const FROM_SOURCE_ENV: string;
export declare const CLOCK_SLACK_MS: number;
export declare function sourceListing(root: string): SourceFile[];
export declare function sourceDigest(root: string): Promise<string>;
export declare function stampOf(digest: string, startedAt: number, listing: SourceFile[]): Stamp;
export declare function readStamp(root: string): Stamp | undefined;
export declare function pickEntry(o: {
  fromSource: string | undefined;
  stamp: Stamp | undefined;
  listing: () => SourceFile[];
  digest: () => Promise<string>;
}): Promise<'dist' | 'source'>;
export declare function entryModule(
  root: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ which: 'dist' | 'source'; file: string }>;
