;; mtgraph's UnsortedSegmentSum (src/backend/segment-sum-kernel.ts), run on tfjs-backend-wasm's own
;; memory (imported): the scatter-add behind the gradient of a gather (an Embedding's table).
;; Compiled by `npm run build:wasm` (scripts/build-wasm.ts, wabt) into segment_sum.wasm.ts.
;; Addresses are byte addresses (float32 x and out, int32 ids).
;;
;; sum(x, ids, out, n, width, segments), out [segments, width] zeroed by the caller:
;;   for each row i < n with 0 <= ids[i] < segments: out[ids[i], :] += x[i, :]
;; (rows whose id is out of range add nothing, as tfjs's cpu kernel does). Four columns per
;; f32x4, then the remaining width % 4 one by one.
(module
  (import "env" "memory" (memory 1))
  (func (export "sum")
    (param $x i32) (param $ids i32) (param $out i32)
    (param $n i32) (param $width i32) (param $segments i32)
    (local $i i32) (local $id i32) (local $dst i32) (local $k i32) (local $wide i32)
    (local.set $wide (i32.and (local.get $width) (i32.const -4)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $id (i32.load (local.get $ids)))
        (if (i32.lt_u (local.get $id) (local.get $segments))
          (then
            (local.set $dst
              (i32.add (local.get $out) (i32.shl (i32.mul (local.get $id) (local.get $width)) (i32.const 2))))
            (local.set $k (i32.const 0))
            (block $wide_done
              (loop $wide_cols
                (br_if $wide_done (i32.ge_u (local.get $k) (local.get $wide)))
                (v128.store align=4 (local.get $dst)
                  (f32x4.add (v128.load align=4 (local.get $dst)) (v128.load align=4 (local.get $x))))
                (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                (local.set $x (i32.add (local.get $x) (i32.const 16)))
                (local.set $k (i32.add (local.get $k) (i32.const 4)))
                (br $wide_cols)))
            (block $tail_done
              (loop $tail
                (br_if $tail_done (i32.ge_u (local.get $k) (local.get $width)))
                (f32.store (local.get $dst)
                  (f32.add (f32.load (local.get $dst)) (f32.load (local.get $x))))
                (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                (local.set $x (i32.add (local.get $x) (i32.const 4)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $tail))))
          (else
            (local.set $x
              (i32.add (local.get $x) (i32.shl (local.get $width) (i32.const 2))))))
        (local.set $ids (i32.add (local.get $ids) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))))
