// A multi-pattern substring index (Aho–Corasick): one pass over a text finds every indexed pattern
// it contains, however many there are. The engine uses it to share `contains` tests across rules.

interface SubstringNode<T> {
  next: Map<number, SubstringNode<T>>;
  fail: SubstringNode<T> | undefined;
  /** Items of the patterns that end here. */
  own: T[];
  /** Item lists of every pattern that ends here, this node's own and its suffixes' (after build). */
  outputs: T[][];
}

const node = <T>(): SubstringNode<T> => ({
  next: new Map(),
  fail: undefined,
  own: [],
  outputs: [],
});

export class SubstringIndex<T> {
  private readonly root: SubstringNode<T> = node();
  private built = false;

  /** Files `item` under `pattern` (the same item may sit under several patterns). */
  add(pattern: string, item: T): void {
    if (this.built) throw new Error('SubstringIndex.add after build');
    let current = this.root;
    for (let index = 0; index < pattern.length; index += 1) {
      const code = pattern.charCodeAt(index);
      let child = current.next.get(code);
      if (child === undefined) {
        child = node();
        current.next.set(code, child);
      }
      current = child;
    }
    if (!current.own.includes(item)) current.own.push(item);
  }

  /** Links every node to its longest proper suffix in the trie, breadth first. */
  build(): void {
    const queue: SubstringNode<T>[] = [];
    this.root.outputs = this.root.own.length > 0 ? [this.root.own] : [];
    for (const child of this.root.next.values()) {
      child.fail = this.root;
      queue.push(child);
    }
    for (let head = 0; head < queue.length; head += 1) {
      const current = queue[head]!;
      const fail = current.fail!;
      current.outputs = current.own.length > 0 ? [current.own, ...fail.outputs] : fail.outputs;
      for (const [code, child] of current.next) {
        let candidate: SubstringNode<T> | undefined = fail;
        while (candidate !== undefined && !candidate.next.has(code)) candidate = candidate.fail;
        child.fail = candidate === undefined ? this.root : candidate.next.get(code)!;
        queue.push(child);
      }
    }
    this.built = true;
  }

  /** Calls `visit` with the item list of each pattern found, once per place it ends in `text`. */
  scan(text: string, visit: (items: T[]) => void): void {
    const root = this.root;
    for (const items of root.outputs) visit(items);
    let current = root;
    for (let index = 0; index < text.length; index += 1) {
      const code = text.charCodeAt(index);
      let next = current.next.get(code);
      while (next === undefined && current !== root) {
        current = current.fail!;
        next = current.next.get(code);
      }
      current = next ?? root;
      // The root's outputs (an empty pattern) were visited once, before the loop.
      if (current === root) continue;
      for (const items of current.outputs) visit(items);
    }
  }
}
