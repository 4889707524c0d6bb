import type * as tfl from '@tensorflow/tfjs-layers';
import { MultilossError } from '../errors.js';

type Layer = tfl.layers.Layer;
type SymbolicTensor = tfl.SymbolicTensor;
/** tfjs-layers' Node (one call of a layer); not exported by the package under its own name. */
type TfNode = Layer['inboundNodes'][number];

/** One call of a layer in the model's graph (a tfjs-layers Node). */
export interface GraphNode {
  /** Position in topological order (inputs first). */
  index: number;
  layer: Layer;
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];
  callArgs: Record<string, unknown>;
  /** Indices of the model outputs this node feeds. */
  feeds: Set<number>;
}

/** How the graph of a functional LayersModel splits into a shared part and one part per output. */
export interface GraphAnalysis {
  /** The model's single input. */
  input: SymbolicTensor;
  /** Every node that feeds at least one output, in topological order (input layers excluded). */
  nodes: GraphNode[];
  /** Producer of each symbolic tensor, by tensor id (absent for the model input). */
  producer: Map<number, GraphNode>;
  /** Nodes that feed two or more outputs (the shared trunk), topological order. */
  trunkNodes: GraphNode[];
  /** Trunk tensors read by nodes that feed a single output: what the heads receive from the trunk. */
  boundary: SymbolicTensor[];
  /** Per output: the layers whose every call feeds that output only. */
  layerFeeds: Map<Layer, Set<number>>;
  /** Layers in the order of model.layers (deterministic, topological). */
  layers: Layer[];
}

/** The graph node behind a symbolic tensor, or undefined for a model input. */
function nodeOf(t: SymbolicTensor): TfNode | undefined {
  const layer = t.sourceLayer;
  if (layer.getClassName() === 'InputLayer') return undefined;
  return layer.inboundNodes[t.nodeIndex];
}

/**
 * Walks the model's graph back from each output: a node (one call of a layer)
 * feeds output t when output t is reachable from it. Nodes feeding two or
 * more outputs form the shared trunk; the trunk tensors consumed by nodes that
 * feed a single output are the boundary between trunk and heads.
 */
export function analyseGraph(model: tfl.LayersModel): GraphAnalysis {
  if (model.inputs.length !== 1) {
    throw new MultilossError('config', `the model has ${model.inputs.length} inputs (${model.inputNames.join(', ')}); multiloss trains models with one input tensor`);
  }
  const input = model.inputs[0];
  const byTfNode = new Map<TfNode, GraphNode>();
  const producer = new Map<number, GraphNode>();
  const order: GraphNode[] = [];
  // Depth-first from each output, post-order: a node comes after every node it reads from.
  const visit = (t: SymbolicTensor, out: number, path: Set<TfNode>): void => {
    if (t.id === input.id) return;
    const tfNode = nodeOf(t);
    if (!tfNode) throw new MultilossError('config', `output ${model.outputNames[out]} depends on an input tensor "${t.name}" that is not the model's input`);
    let node = byTfNode.get(tfNode);
    if (node) {
      if (node.feeds.has(out)) return;
      node.feeds.add(out);
      for (const i of node.inputs) visit(i, out, path);
      return;
    }
    if (path.has(tfNode)) throw new MultilossError('config', `the model's graph has a cycle at layer "${t.sourceLayer.name}"`);
    path.add(tfNode);
    node = {
      index: -1,
      layer: tfNode.outboundLayer,
      inputs: [...tfNode.inputTensors],
      outputs: [...tfNode.outputTensors],
      callArgs: { ...(tfNode.callArgs ?? {}) },
      feeds: new Set([out]),
    };
    byTfNode.set(tfNode, node);
    for (const i of node.inputs) visit(i, out, path);
    path.delete(tfNode);
    node.index = order.length;
    order.push(node);
    for (const o of node.outputs) producer.set(o.id, node);
  };
  model.outputs.forEach((o, out) => visit(o, out, new Set()));

  const trunkNodes = order.filter((n) => n.feeds.size >= 2);
  const boundaryIds = new Set<number>();
  const boundary: SymbolicTensor[] = [];
  for (const n of order) {
    if (n.feeds.size >= 2) continue;
    for (const i of n.inputs) {
      const p = producer.get(i.id);
      if (p && p.feeds.size >= 2 && !boundaryIds.has(i.id)) {
        boundaryIds.add(i.id);
        boundary.push(i);
      }
    }
  }
  // A shared tensor that is itself an output (output A = h, output B = f(h)) also crosses over.
  for (const o of model.outputs) {
    const p = producer.get(o.id);
    if (p && p.feeds.size >= 2 && !boundaryIds.has(o.id)) {
      boundaryIds.add(o.id);
      boundary.push(o);
    }
  }
  // Keep the boundary in the order its producers run.
  boundary.sort((a, b) => (producer.get(a.id)?.index ?? 0) - (producer.get(b.id)?.index ?? 0));

  const layerFeeds = new Map<Layer, Set<number>>();
  for (const n of order) {
    const s = layerFeeds.get(n.layer) ?? new Set<number>();
    n.feeds.forEach((f) => s.add(f));
    layerFeeds.set(n.layer, s);
  }
  const layers = model.layers.filter((l) => layerFeeds.has(l));
  return { input, nodes: order, producer, trunkNodes, boundary, layerFeeds, layers };
}
