/**
 * The report: everything `analyze` found, in the shape `render` prints and `--format json`
 * writes. `schema/seam-report.schema.json` describes the same structure for other tools; bump
 * `SCHEMA_VERSION` on any incompatible change (a removed or renamed field, a changed meaning)
 * and document it in the README.
 */
import type { DeclarationComparison } from './declarations.js';
import type { Hunk } from './hunks.js';
import type { LiteralDifference, NameDifference } from './literals.js';
import type { Language } from './tokenize/token.js';

export const SCHEMA_VERSION = 3;

/** Strongest first. */
export const CLASSIFICATIONS = [
  'identical',
  'equivalent',
  'renamed',
  'similar',
  'diverged',
] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

export const TRIGGERS = [
  'repeated_fix',
  'stable_across_slices',
  'third_engine',
  'maintenance_cost',
] as const;
export type TriggerName = (typeof TRIGGERS)[number];

export type Verdict = 'extract' | 'reconcile_first' | 'keep_local' | 'never' | 'extracted';

export interface CommitRef {
  readonly hash: string;
  /** Committer date, ISO 8601 in UTC. */
  readonly date: string;
  readonly subject: string;
}

export interface SeamReport {
  readonly schemaVersion: typeof SCHEMA_VERSION;
  readonly tool: { readonly name: 'seam-report'; readonly version: string };
  readonly repository: RepositoryInfo;
  readonly settings: ReportSettings;
  readonly engines: readonly EngineSummary[];
  readonly seams: readonly SeamResult[];
  /** Modules present in only one engine: not seams (yet). */
  readonly singleCopyModules: readonly ModuleCopy[];
  /** Files that would be copies but are generated: not compared. */
  readonly excludedFiles: readonly ExcludedFile[];
  /** Modules with copies in two or more engines that the configured `seams` leave out. */
  readonly unwatchedModules: readonly UnwatchedModule[];
  /**
   * Files outside every seam that are identical or near-identical across engines: copies nobody
   * declared (with a configuration entry that would watch them), or copies the configuration
   * declares deliberately local (with its reason).
   */
  readonly unwatchedCopies: readonly UnwatchedCopies[];
  /**
   * Seams extracted by deleting their copies: the engines' files were removed and the code is
   * found in a module outside them. They are not in `seams` (no copies are left to compare).
   */
  readonly extractedSeams: readonly ExtractedSeam[];
  /** Blocks shared by two files of one engine (a framing pasted from one module into another). */
  readonly sharedBlocks: readonly SharedBlock[];
  readonly history: HistorySummary | null;
  readonly decision: Decision;
  readonly drift: DriftReport | null;
  /** Things a reader should know about how far the report can be trusted. */
  readonly notes: readonly string[];
  /** Configuration entries that match nothing (`--strict` makes them an error). */
  readonly warnings: readonly string[];
}

export interface ExcludedFile {
  readonly path: string;
  readonly seam: string;
  readonly engine: string;
  /**
   * `generated_header`: its leading comment says so; `generated_glob`: a `generated` glob
   * matches; `generated_script`: a generator script of the repository writes it.
   */
  readonly reason: 'generated_header' | 'generated_glob' | 'generated_script';
  /** The header line, the glob, or the script's path. */
  readonly evidence: string;
}

export interface UnwatchedModule {
  readonly seam: string;
  readonly copies: readonly { readonly engine: string; readonly path: string }[];
}

/** A group of files outside every seam whose contents are copies of one another. */
export interface UnwatchedCopies {
  /** A seam name for them: the module name in snake_case (made unique among the seams). */
  readonly name: string;
  /**
   * How the files were grouped before their contents were compared: the same path inside each
   * engine (`path`), the same file name elsewhere (`name`), or the same code anywhere (`content`).
   */
  readonly foundBy: 'path' | 'name' | 'content';
  /** The weakest relation of a file to the canonical one (never `diverged`: those are left out). */
  readonly classification: Classification;
  /** The lowest similarity of a file to the canonical one. */
  readonly similarity: number;
  /** The canonical file's path. */
  readonly canonical: string;
  /** One file per engine, in engine order, with its similarity to the canonical file. */
  readonly files: readonly {
    readonly engine: string;
    readonly path: string;
    readonly similarity: number;
  }[];
  /** Set when the configuration declares the files deliberately local (`local`): why. */
  readonly local: { readonly reason: string; readonly paths: readonly string[] } | null;
  /**
   * For copies not declared local: a `seams` entry that watches exactly these files, and, when
   * they sit at one path inside every engine, the `seamPaths` pattern for it (which watches every
   * module beside them too). Null when local.
   */
  readonly suggestion: {
    readonly seams: readonly { readonly name: string; readonly files: readonly string[] }[];
    readonly seamPath: string | null;
  } | null;
}

export interface RepositoryInfo {
  readonly root: string;
  /** HEAD, or null in a repository without commits. */
  readonly head: CommitRef | null;
  /** The checked-out branch, or null on a detached HEAD. */
  readonly branch: string | null;
  /** True in a shallow clone: history before the cut is missing. */
  readonly shallow: boolean;
}

/** The configuration the report was made with, after defaults. */
export interface ReportSettings {
  /** Where the configuration came from: a file path, `package.json#seamReport`, or `defaults`. */
  readonly source: string;
  readonly engines: readonly string[];
  readonly seamPaths: readonly string[];
  readonly never: readonly string[];
  readonly generated: readonly string[];
  /** Header patterns (regular expressions) of generated files, beside the usual generator headers. */
  readonly generatedHeaders: readonly string[];
  /** Old path → current path (configured, plus renames found in history; see `history`). */
  readonly aliases: readonly { readonly from: string; readonly to: string }[];
  readonly priority: readonly string[];
  readonly thresholds: {
    readonly similar: number;
    readonly copyEvent: number;
    readonly mirrorMatch: number;
    readonly mirrorMinTokens: number;
    readonly mirrorWindowDays: number;
    readonly driftInStep: Classification;
  };
  readonly triggers: {
    readonly repeated_fix: { readonly mirroredChanges: number };
    readonly stable_across_slices: { readonly seams: readonly string[]; readonly slices: number };
    readonly third_engine: { readonly copies: number };
    readonly maintenance_cost: {
      readonly windowDays: number | null;
      readonly multiCopyChanges: number;
      readonly oneSidedChanges: number;
      readonly repeatedLines: number;
    };
  };
  readonly savings: {
    readonly minDuplicatedLines: number;
    readonly minChangedSlices: number;
    readonly windowDays: number;
  };
  readonly slices: SliceMode;
  /** Which pairs `comparison.pairs` holds: `canonical` (each copy against it) or `all`. */
  readonly pairs: 'canonical' | 'all';
  /** Files deliberately kept local (not seams), with the reason: `local` in the configuration. */
  readonly local: readonly { readonly paths: readonly string[]; readonly reason: string }[];
  /** What the discovery of unwatched copies counts as a copy. */
  readonly discover: {
    readonly similarity: number;
    readonly minTokens: number;
    readonly toolConfigs: boolean;
    readonly watch: boolean;
    readonly blockTokens: number;
  };
  /** Names read as one before copies are compared (regular expressions and their replacement). */
  readonly normalizeNames: readonly { readonly pattern: string; readonly as: string }[];
  /** The grid seams watched (null: every module in two or more engines). */
  readonly seams: readonly string[] | null;
  /** Seams declared as file groups. */
  readonly fileGroups: readonly { readonly name: string; readonly files: readonly string[] }[];
}

/**
 * How history is cut into slices (units of follow-on work). `auto` picks by the history's merge
 * style; the others are chosen outright (see the README).
 */
export type SliceMode =
  | { readonly by: 'auto' }
  | { readonly by: 'first-parent' }
  | { readonly by: 'merges' }
  | { readonly by: 'pull-requests'; readonly subject?: string }
  | { readonly by: 'tags'; readonly pattern: string }
  | { readonly by: 'release-commits'; readonly subject: string }
  | { readonly by: 'time'; readonly days: number };

/** The slicing actually used (`auto` resolved). */
export type SliceModeUsed = Exclude<SliceMode['by'], 'auto'>;

export interface EngineSummary {
  readonly name: string;
  /** The engine's directory, relative to the repository root. */
  readonly path: string;
  /** Modules found in the engine's seam paths (seam names). */
  readonly modules: readonly string[];
}

export interface ModuleCopy {
  readonly seam: string;
  readonly engine: string;
  readonly path: string;
}

export interface SeamCopy {
  readonly engine: string;
  /** Path relative to the repository root. */
  readonly path: string;
  readonly language: Language;
  /** Lines and tokens (comments excluded) of the compared text. */
  readonly lines: number;
  readonly tokens: number;
  /**
   * The commit that added this copy (following renames), or null when it is not committed yet or
   * history was not read.
   */
  readonly appeared: CommitRef | null;
  /** Whether the file is in HEAD's tree (an untracked or newly added copy is not). */
  readonly committed: boolean;
  /** The copy's relation to the seam's canonical copy (`comparison.reference`). */
  readonly cluster: CopyCluster;
  /** Token similarity (LCS ratio) to the canonical copy; 1 for the canonical copy itself. */
  readonly similarity: number;
}

/**
 * A copy's relation to its seam's canonical copy, strongest first: `canonical` (it is that copy),
 * `identical` (same bytes), `equivalent` (same tokens without comments and whitespace),
 * `renamed` (same once names and literals are placeholders), `near` (similarity at least
 * `thresholds.similar`), `outlier` (below it).
 */
export type CopyCluster = 'canonical' | 'identical' | 'equivalent' | 'renamed' | 'near' | 'outlier';

/** How many copies are in each cluster; the canonical copy counts with the identical ones. */
export interface ClusterCounts {
  readonly identical: number;
  readonly equivalent: number;
  readonly renamed: number;
  readonly near: number;
  readonly outliers: number;
}

export interface PairComparison {
  readonly a: string;
  readonly b: string;
  readonly classification: Classification;
  /** LCS ratio over comment-free tokens, in [0, 1]. */
  readonly similarity: number;
}

/** The line hunks from the canonical copy to one distinct text (and the copies sharing it). */
export interface CopyDiff {
  /** The canonical copy. */
  readonly reference: string;
  readonly other: string;
  /** Other copies whose text is the same as `other`'s (their diff is the same). */
  readonly alsoIn: readonly string[];
  readonly hunks: readonly Hunk[];
}

export interface SeamComparison {
  /**
   * The main cluster's classification: the weakest relation to the canonical copy among the
   * copies that are not outliers; `diverged` when every other copy is an outlier.
   */
  readonly classification: Classification;
  /**
   * The lowest similarity to the canonical copy in the main cluster (among all copies when they
   * are `diverged`).
   */
  readonly similarity: number;
  /** The canonical copy (an engine): the one the others agree with most; see the README. */
  readonly reference: string;
  readonly clusters: ClusterCounts;
  /**
   * Each copy against the canonical copy (`settings.pairs` = `canonical`, the default), or every
   * pair of copies (`all`).
   */
  readonly pairs: readonly PairComparison[];
  /** One per distinct text that differs from the canonical copy's. */
  readonly diffs: readonly CopyDiff[];
  readonly declarations: {
    readonly total: number;
    readonly same: number;
    /** Every declaration that is not the same in all copies, with the copies that differ. */
    readonly differing: readonly DeclarationComparison[];
  };
  readonly literalDifferences: readonly LiteralDifference[];
  readonly nameDifferences: readonly NameDifference[];
}

export interface ChangeRef {
  /** The copy's engine, by its current name (renamed engines keep their copies). */
  readonly engine: string;
  /** The copy's path in that commit. */
  readonly path: string;
  readonly commit: CommitRef;
  /** Source lines touched by the change (removed plus added, comment-only lines excluded). */
  readonly lines: number;
  /** Tokens removed plus tokens added, comments excluded. */
  readonly tokens: number;
  /** The slice of the commit (0 = the oldest; see `history.slices`), or null without slices. */
  readonly slice: number | null;
  /**
   * True when the change lies in the slice in which its copy (for a follower, or the origin's
   * copy) appeared: part of writing the copy, so it counts toward no trigger.
   */
  readonly whileCopying: boolean;
}

/** A slice with counted changes: what `repeated_fix` and `maintenance_cost` count. */
export interface SliceOccurrence {
  readonly slice: number | null;
  /** The slice's latest counted change. */
  readonly commit: CommitRef;
  /** Mirrored changes with a follower in this slice: one occurrence however many. */
  readonly mirroredChanges: number;
  readonly oneSidedChanges: number;
  /** Lines repeated in other copies in this slice, each copy's at most its net diff over the slice. */
  readonly repeatedLines: number;
}

export type MirrorKind = 'same_commit' | 'within_window' | 'late_propagation';

/**
 * How a follower's edit matched the origin's: `exact` (the same tokens removed and added),
 * `exact_in_context` (the same small edit at the same place), `similar` (LCS ratios of the edits
 * and of their identifiers and literals both reach `mirrorMatch`), `contained` (the follower
 * made its copy identical to another and its edit contains the origin's: a sync).
 */
export type MatchHow = 'exact' | 'exact_in_context' | 'similar' | 'contained';

/** A change that returned its copy to an earlier content: it and what it undid are not debt. */
export interface RevertRef extends ChangeRef {
  /** The changes it undid, oldest first. */
  readonly reverted: readonly CommitRef[];
}

/** A change that made its copy identical to other copies (normalised tokens): not debt. */
export interface ConvergenceRef extends ChangeRef {
  /** The engines whose copies it became identical to. */
  readonly with: readonly string[];
}

export interface MirrorFollower extends ChangeRef {
  readonly delaySeconds: number;
  /** Match score of this follower's edit against the origin's (1 for exact matches). */
  readonly match: number;
  readonly how: MatchHow;
}

export interface MirroredChange {
  readonly kind: MirrorKind;
  readonly origin: ChangeRef;
  readonly followers: readonly MirrorFollower[];
  /** Lowest match score of the followers. */
  readonly match: number;
  /** Lines changed again in the followers: the duplicated work. */
  readonly repeatedLines: number;
}

export interface CopyEvent {
  readonly engine: string;
  readonly path: string;
  readonly commit: CommitRef;
  /** The existing copy the new one is most similar to, or null when it is the first copy. */
  readonly source: string | null;
  readonly similarity: number | null;
  /** True when similarity reaches the copy-event threshold: the copy was made from `source`. */
  readonly copied: boolean;
}

/** A copy that moved: a renamed file or engine directory, or engines that swapped folders. */
export interface CopyMove {
  /** The copy's engine, by its current name. */
  readonly engine: string;
  readonly from: string;
  readonly to: string;
  readonly commit: CommitRef;
}

export interface TimelinePoint {
  readonly commit: string;
  readonly date: string;
  readonly copies: number;
  /**
   * Lowest similarity of a copy to the canonical copy after the commit (for two copies, their
   * similarity), or null with fewer than two copies.
   */
  readonly similarity: number | null;
  /** Copies below `thresholds.similar` from the canonical copy then. */
  readonly outliers: number;
}

export interface SeamHistory {
  /** Changes to a copy (normalised tokens changed) while the seam had two or more copies. */
  readonly changes: number;
  readonly copyEvents: readonly CopyEvent[];
  /** Copies that moved (renames followed: a moved copy is the same copy). */
  readonly moves: readonly CopyMove[];
  readonly mirroredChanges: readonly MirroredChange[];
  /** Changes no other copy received, not undone and not bringing copies together: divergence debt. */
  readonly oneSidedChanges: readonly ChangeRef[];
  /** Changes that returned their copy to an earlier content, with what they undid. */
  readonly reverts: readonly RevertRef[];
  /** Changes that made their copy identical to another and matched no earlier change. */
  readonly convergences: readonly ConvergenceRef[];
  /** The slices with counted changes (see `SliceOccurrence`), oldest first. */
  readonly occurrences: readonly SliceOccurrence[];
  /** Similarity over history: at most one point per `TIMELINE_POINTS`-th of the time span. */
  readonly timeline: readonly TimelinePoint[];
}

export interface TriggerResult {
  readonly trigger: TriggerName;
  /** False when the trigger does not apply to this seam (stable_across_slices is per list). */
  readonly applicable: boolean;
  readonly fired: boolean;
  readonly summary: string;
  readonly observed: Readonly<Record<string, number>>;
  readonly thresholds: Readonly<Record<string, number>>;
  readonly evidence: readonly CommitRef[];
}

/**
 * What decided a seam's verdict, first that applies: `extracted` (the copies import a shared
 * module), `never` (listed in `never`), `no_trigger` (no extraction trigger fired), `name_only`
 * (the files share a name, not code), `per_package_constants` (the copies hold only constants
 * whose names or values differ), `small_shared_part` (the shared part is a handful of lines),
 * `little_to_save` (extraction would save too few duplicated lines and changes), `mechanical`
 * (`extract`: the copies are identical, equivalent or renamed), `behaviour_differs`
 * (`reconcile_first`).
 */
export type VerdictDecidedBy =
  | 'extracted'
  | 'never'
  | 'no_trigger'
  | 'name_only'
  | 'per_package_constants'
  | 'small_shared_part'
  | 'little_to_save'
  | 'mechanical'
  | 'behaviour_differs';

export interface SeamVerdict {
  readonly verdict: Verdict;
  /** What decided the verdict (see `VerdictDecidedBy`). */
  readonly decidedBy: VerdictDecidedBy;
  readonly reasons: readonly string[];
  /** For `reconcile_first`: what differs in behaviour and must be made the same first. */
  readonly reconcile: readonly string[];
}

/** A seam whose copies were replaced by imports of a shared module. */
export interface SeamExtraction {
  /** The commit that moved the code out (the second copy to switch, when they switched apart). */
  readonly commit: CommitRef;
  /** The module the copies import now: a package or crate name, or a file path. */
  readonly to: string;
  /** Its files at that commit. */
  readonly files: readonly string[];
  /** Engines whose copies import it today (they are adapters). */
  readonly copies: readonly string[];
  /** Engines whose copies do not import it: they still carry the code. */
  readonly stillLocal: readonly string[];
}

/** A block of code two files of one engine share (names and literals aside). */
export interface SharedBlock {
  /** The two files' seams (module names). */
  readonly files: readonly [string, string];
  /** The engines whose two files share it. */
  readonly engines: readonly string[];
  /** Its length in tokens (comments left out). */
  readonly tokens: number;
  /** Token similarity of the two sides with names and literals as written. */
  readonly similarity: number;
  /** Where it is, in the first engine: each file's path and first and last line. */
  readonly at: readonly { readonly path: string; readonly start: number; readonly end: number }[];
}

/** A seam whose copies were deleted from their engines, the code moved to a shared module. */
export interface ExtractedSeam {
  readonly name: string;
  /** The last commit that removed a copy (the extraction). */
  readonly commit: CommitRef;
  /** The module the code went to: a package or crate name, or a file path. */
  readonly to: string;
  /** Where the removed code was found. */
  readonly files: readonly string[];
  /** The copies removed, by engine, with their last path. */
  readonly removed: readonly { readonly engine: string; readonly path: string }[];
}

export interface Savings {
  /**
   * Lines extraction would remove: every copy's lines but the largest copy's, among the copies of
   * the main cluster (outliers are not part of the move; all copies when every one is an outlier).
   */
  readonly duplicatedLines: number;
  /**
   * The size of the shared part: the code lines (lines with code, comments and blank lines left
   * out) of the canonical copy, what a shared module would hold; null when not measured.
   */
  readonly sharedLines: number | null;
  /** Slices that changed a copy in the last `settings.savings.windowDays` days, or null without history. */
  readonly changedSlices: number | null;
  /**
   * Whether extraction is worth it: the shared part reaches `savings.minSharedLines`, and the
   * duplicated lines or the changed slices reach their threshold (`settings.savings`).
   */
  readonly worthIt: boolean;
}

export interface SeamResult {
  readonly name: string;
  readonly copies: readonly SeamCopy[];
  readonly comparison: SeamComparison;
  /**
   * For an extracted seam (null otherwise): when and where to. Its `history` is then the
   * adapters' history since the extraction.
   */
  readonly extracted: SeamExtraction | null;
  /** What extracting the seam would save; a trigger alone does not make an extraction worth it. */
  readonly savings: Savings;
  readonly history: SeamHistory | null;
  readonly triggers: readonly TriggerResult[];
  readonly verdict: SeamVerdict;
}

export interface Slice {
  /** The slice's last commit: its merge, pull request, tag, release or last commit in its window. */
  readonly commit: CommitRef;
  /** The revision the slice starts from (exclusive), or null for the first slice. */
  readonly from: string | null;
  /**
   * True for the commits after the last boundary (work not yet merged as a pull request, tagged
   * or released; the current time window).
   */
  readonly open: boolean;
  /** Seams with a copy whose normalised tokens changed in the slice. */
  readonly changedSeams: readonly string[];
}

export interface SliceSummary {
  /** The slicing configured (`auto` unless set). */
  readonly requested: SliceMode['by'];
  /** The slicing used. */
  readonly mode: SliceModeUsed;
  /** Why this slicing: what `auto` found, or that it was configured. */
  readonly reason: string;
  /**
   * When nothing in the whole history ends a slice, why in a few words (`no tag matches *@*`):
   * the history is one open slice, every change is part of writing its copies, and no history
   * trigger can fire; null otherwise.
   */
  readonly oneOpenSlice: string | null;
  /** Slices that changed engine code, in the whole history. */
  readonly total: number;
  /** The most recent slices that changed engine code, newest first. */
  readonly recent: readonly Slice[];
}

export interface HistorySummary {
  /** Commits read by the history walk (those touching a seam path). */
  readonly commitsWalked: number;
  readonly first: CommitRef | null;
  readonly last: CommitRef | null;
  readonly slices: SliceSummary;
}

export interface Decision {
  readonly extractNow: boolean;
  /** One line: "Do not extract a shared runtime yet" or "Extract now: retire_queue". */
  readonly summary: string;
  readonly extract: readonly string[];
  readonly reconcileFirst: readonly string[];
  /** Seams already extracted to a shared module: never recommended again. */
  readonly extracted: readonly string[];
  /** Recommended extraction order, smallest mechanical move first (never-seams excluded). */
  readonly order: readonly string[];
}

/** A copy on the other side of a drift from its cluster's canonical copy. */
export interface DriftedCopy {
  readonly engine: string;
  readonly path: string;
  /** Where to look: the first line the change touched, or where the copy differs from the canonical one. */
  readonly line: number;
  /** True when this copy changed (and the canonical one did not); false when it missed the change. */
  readonly changed: boolean;
  readonly message: string;
}

export interface DriftFinding {
  readonly seam: string;
  /** Engines whose copy changed (normalised) since the base, among the copies in step then (and copies the change added). */
  readonly changed: readonly string[];
  /** Copies in step at the base that the change left alone. */
  readonly unchanged: readonly string[];
  /** Copies not in step with the canonical copy at the base: left out of the check. */
  readonly outliers: readonly string[];
  /** The canonical copy of the copies in step, as they are now. */
  readonly canonical: string;
  /** The copies whose side of the change differs from the canonical copy's. */
  readonly drifted: readonly DriftedCopy[];
  /** The weakest relation to the canonical copy among the copies in step at the base. */
  readonly baseClassification: Classification;
  readonly classification: Classification;
  readonly message: string;
}

export interface DriftReport {
  readonly base: CommitRef;
  readonly findings: readonly DriftFinding[];
}
