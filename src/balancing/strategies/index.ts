import type { BalancedHead, LossBalancer } from '../strategy.js';
import { DWA_OPTIONS, DwaBalancer, type DwaOptions } from './dwa.js';
import { EQUAL_OPTIONS, EqualBalancer, type EqualOptions } from './equal.js';
import { FAMO_OPTIONS, FamoBalancer, type FamoOptions } from './famo.js';
import { GLS_OPTIONS, GlsBalancer, type GlsOptions } from './gls.js';
import { GRADNORM_OPTIONS, GradNormBalancer, type GradNormOptions } from './gradnorm.js';
import { RLW_OPTIONS, RlwBalancer, type RlwOptions } from './rlw.js';
import { UNCERTAINTY_OPTIONS, UncertaintyBalancer, type UncertaintyOptions } from './uncertainty.js';
import { StaticBalancer, type StaticOptions } from './static.js';
import { STCH_OPTIONS, StchBalancer, type StchOptions } from './stch.js';
import { IMTL_L_OPTIONS, ImtlLBalancer, type ImtlLOptions } from './imtl-l.js';
import { UWSO_OPTIONS, UwsoBalancer, type UwsoOptions } from './uwso.js';
import { SCALE_INVARIANT_OPTIONS, ScaleInvariantBalancer, type ScaleInvariantOptions } from './scale-invariant.js';

export { StaticBalancer, STATIC_OPTIONS, type StaticOptions } from './static.js';
export { EqualBalancer, EQUAL_OPTIONS, PLAIN_LOSS_BALANCE, type EqualOptions } from './equal.js';
export { UncertaintyBalancer, UNCERTAINTY_OPTIONS, type UncertaintyOptions } from './uncertainty.js';
export { DwaBalancer, DWA_OPTIONS, type DwaOptions } from './dwa.js';
export { GlsBalancer, GLS_OPTIONS, type GlsOptions } from './gls.js';
export { RlwBalancer, RLW_OPTIONS, type RlwOptions } from './rlw.js';
export { FamoBalancer, FAMO_OPTIONS, type FamoOptions } from './famo.js';
export { GradNormBalancer, GRADNORM_OPTIONS, type GradNormOptions } from './gradnorm.js';
export { StchBalancer, STCH_OPTIONS, type StchOptions } from './stch.js';
export { ImtlLBalancer, IMTL_L_OPTIONS, type ImtlLOptions } from './imtl-l.js';
export { UwsoBalancer, UWSO_OPTIONS, type UwsoOptions } from './uwso.js';
export { ScaleInvariantBalancer, SCALE_INVARIANT_OPTIONS, type ScaleInvariantOptions } from './scale-invariant.js';

/** The learned/adaptive loss balancers (not `static`, which takes its weights from the heads). */
export type LossBalancerName = 'equal' | 'uncertainty' | 'dwa' | 'gls' | 'rlw' | 'famo' | 'gradnorm' | 'stch' | 'imtl-l' | 'uwso' | 'scale-invariant';

/** Options type of each balancer, by name. */
export interface LossBalancerOptionsMap {
  equal: EqualOptions;
  uncertainty: UncertaintyOptions;
  dwa: DwaOptions;
  gls: GlsOptions;
  rlw: RlwOptions;
  famo: FamoOptions;
  gradnorm: GradNormOptions;
  stch: StchOptions;
  'imtl-l': ImtlLOptions;
  uwso: UwsoOptions;
  'scale-invariant': ScaleInvariantOptions;
}

/**
 * Factories by method name. `options` is the `balance:` block without
 * `method`; every factory validates it (MultilossError('config') naming
 * `balance.<option>` and its range; unknown keys rejected).
 */
export const LOSS_BALANCERS: Record<LossBalancerName, (heads: readonly BalancedHead[], options: Record<string, unknown>) => LossBalancer> = {
  equal: (heads, options) => new EqualBalancer(heads, options as EqualOptions),
  uncertainty: (heads, options) => new UncertaintyBalancer(heads, options as UncertaintyOptions),
  dwa: (heads, options) => new DwaBalancer(heads, options as DwaOptions),
  gls: (heads, options) => new GlsBalancer(heads, options as GlsOptions),
  rlw: (heads, options) => new RlwBalancer(heads, options as RlwOptions),
  famo: (heads, options) => new FamoBalancer(heads, options as FamoOptions),
  gradnorm: (heads, options) => new GradNormBalancer(heads, options as GradNormOptions),
  stch: (heads, options) => new StchBalancer(heads, options as StchOptions),
  'imtl-l': (heads, options) => new ImtlLBalancer(heads, options as ImtlLOptions),
  uwso: (heads, options) => new UwsoBalancer(heads, options as UwsoOptions),
  'scale-invariant': (heads, options) => new ScaleInvariantBalancer(heads, options as ScaleInvariantOptions),
};

/** Valid option keys of each balancer (for error messages and config schemas). */
export const LOSS_BALANCER_OPTIONS: Record<LossBalancerName, readonly string[]> = {
  equal: EQUAL_OPTIONS,
  uncertainty: UNCERTAINTY_OPTIONS,
  dwa: DWA_OPTIONS,
  gls: GLS_OPTIONS,
  rlw: RLW_OPTIONS,
  famo: FAMO_OPTIONS,
  gradnorm: GRADNORM_OPTIONS,
  stch: STCH_OPTIONS,
  'imtl-l': IMTL_L_OPTIONS,
  uwso: UWSO_OPTIONS,
  'scale-invariant': SCALE_INVARIANT_OPTIONS,
};

export const LOSS_BALANCER_NAMES = Object.keys(LOSS_BALANCERS) as LossBalancerName[];

/**
 * Every loss-based method `balance.method` accepts: `static` (fixed weights,
 * the default) and the learned/adaptive balancers.
 */
export const LOSS_METHODS: Record<string, (heads: readonly BalancedHead[], options: Record<string, unknown>) => LossBalancer> = {
  static: (heads, options) => new StaticBalancer(heads, options as StaticOptions),
  ...LOSS_BALANCERS,
};
