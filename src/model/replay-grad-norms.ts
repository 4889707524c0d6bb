import * as tf from '@tensorflow/tfjs-core';

/**
 * ‖∇_vars Σ replay() ⊙ gₜ‖ for each gₜ: the norm of each head's gradient over
 * `vars`, from its gradient gₜ w.r.t. the output of a replayed forward pass
 * (GradNorm's last-shared-layer norms where no closed form applies). `replay`
 * runs once per head and must redo the same pass (same dropout masks); the
 * caller restores any batch-norm statistics it moves.
 */
export function replayGradNorms(grads: readonly tf.Tensor2D[], vars: tf.Variable[], replay: () => tf.Tensor): number[] {
  return grads.map((g) =>
    tf.tidy(() => {
      const { grads: vg } = tf.variableGrads(() => tf.sum(tf.mul(replay(), g)) as tf.Scalar, vars);
      return Math.sqrt(tf.addN(Object.values(vg).map((v) => tf.sum(tf.square(v)))).dataSync()[0]);
    }),
  );
}
