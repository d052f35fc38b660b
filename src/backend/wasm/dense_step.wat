;; mtgraph's fast step (src/train/fast-step.ts): the element-wise parts of a dense training step,
;; run on tfjs-backend-wasm's own memory (imported), next to XNNPACK's products on the same buffers.
;; Compiled by `npm run build:wasm` (scripts/build-wasm.ts, wabt) into dense_step.wasm.ts.
;; Addresses are byte addresses of float32 arrays, 16-byte aligned; counts as stated.
;;
;; adam(p, g, m, v, n, b1, b2, c1, c2, lr, eps, keep) -> probe       n a multiple of 4
;;   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g g;
;;   p = p keep - lr (m / c1) / (sqrt(v / c2) + eps);  probe = sum of g * 0 (NaN unless all finite)
;; colsum(src, dst, rows, cols):  dst[j] = sum_i src[i, j]                cols a multiple of 4
;; reluback(a, d, db, rows, cols):  d[i, j] = 0 where a[i, j] <= 0 (a: relu's output), then
;;   db[j] = sum_i d[i, j]                                                 cols a multiple of 4
;; transpose(src, dst, R, C):  dst[c, r] = src[r, c]                      R and C multiples of 4
;; accumulate(dst, src, n):  dst[k] += src[k]                             n a multiple of 4
(module
  (import "env" "memory" (memory 1))
  (func (export "adam")
    (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $n i32)
    (param $b1 f32) (param $b2 f32) (param $c1 f32) (param $c2 f32) (param $lr f32)
    (param $eps f32) (param $keep f32) (result f32)
    (local $end i32) (local $gv v128) (local $mv v128) (local $vv v128) (local $probe v128)
    (local $B1 v128) (local $B2 v128) (local $A1 v128) (local $A2 v128) (local $C1 v128)
    (local $C2 v128) (local $LR v128) (local $EPS v128) (local $KEEP v128) (local $zero v128)
    (local.set $B1 (f32x4.splat (local.get $b1)))
    (local.set $B2 (f32x4.splat (local.get $b2)))
    (local.set $A1 (f32x4.splat (f32.sub (f32.const 1) (local.get $b1))))
    (local.set $A2 (f32x4.splat (f32.sub (f32.const 1) (local.get $b2))))
    (local.set $C1 (f32x4.splat (local.get $c1)))
    (local.set $C2 (f32x4.splat (local.get $c2)))
    (local.set $LR (f32x4.splat (local.get $lr)))
    (local.set $EPS (f32x4.splat (local.get $eps)))
    (local.set $KEEP (f32x4.splat (local.get $keep)))
    (local.set $zero (f32x4.splat (f32.const 0)))
    (local.set $probe (local.get $zero))
    (local.set $end (i32.add (local.get $g) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $g) (local.get $end)))
        (local.set $gv (v128.load (local.get $g)))
        (local.set $probe (f32x4.add (local.get $probe) (f32x4.mul (local.get $gv) (local.get $zero))))
        (local.set $mv (f32x4.add (f32x4.mul (local.get $B1) (v128.load (local.get $m)))
          (f32x4.mul (local.get $A1) (local.get $gv))))
        (local.set $vv (f32x4.add (f32x4.mul (local.get $B2) (v128.load (local.get $v)))
          (f32x4.mul (local.get $A2) (f32x4.mul (local.get $gv) (local.get $gv)))))
        (v128.store (local.get $m) (local.get $mv))
        (v128.store (local.get $v) (local.get $vv))
        (v128.store (local.get $p)
          (f32x4.sub (f32x4.mul (v128.load (local.get $p)) (local.get $KEEP))
            (f32x4.div (f32x4.mul (local.get $LR) (f32x4.div (local.get $mv) (local.get $C1)))
              (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vv) (local.get $C2))) (local.get $EPS)))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (local.set $m (i32.add (local.get $m) (i32.const 16)))
        (local.set $v (i32.add (local.get $v) (i32.const 16)))
        (br $each)))
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $probe)) (f32x4.extract_lane 1 (local.get $probe)))
      (f32.add (f32x4.extract_lane 2 (local.get $probe)) (f32x4.extract_lane 3 (local.get $probe)))))
  (func $zero (param $dst i32) (param $cols i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $cols) (i32.const 2))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (v128.store (local.get $dst) (f32x4.splat (f32.const 0)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $each))))
  (func (export "colsum") (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (local $i i32) (local $to i32) (local $end i32)
    (call $zero (local.get $dst) (local.get $cols))
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $cols) (i32.const 2))))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $to (local.get $dst))
        (loop $cols
          (v128.store (local.get $to)
            (f32x4.add (v128.load (local.get $to)) (v128.load (local.get $src))))
          (local.set $to (i32.add (local.get $to) (i32.const 16)))
          (local.set $src (i32.add (local.get $src) (i32.const 16)))
          (br_if $cols (i32.lt_u (local.get $to) (local.get $end))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))
  (func (export "reluback")
    (param $a i32) (param $d i32) (param $db i32) (param $rows i32) (param $cols i32)
    (local $i i32) (local $to i32) (local $end i32) (local $x v128)
    (call $zero (local.get $db) (local.get $cols))
    (local.set $end (i32.add (local.get $db) (i32.shl (local.get $cols) (i32.const 2))))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $to (local.get $db))
        (loop $cols
          ;; d where a > 0, else 0 (a NaN compares false: 0, as tfjs's relu gradient)
          (local.set $x (v128.and (v128.load (local.get $d))
            (f32x4.gt (v128.load (local.get $a)) (f32x4.splat (f32.const 0)))))
          (v128.store (local.get $d) (local.get $x))
          (v128.store (local.get $to) (f32x4.add (v128.load (local.get $to)) (local.get $x)))
          (local.set $to (i32.add (local.get $to) (i32.const 16)))
          (local.set $a (i32.add (local.get $a) (i32.const 16)))
          (local.set $d (i32.add (local.get $d) (i32.const 16)))
          (br_if $cols (i32.lt_u (local.get $to) (local.get $end))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))
  (func (export "transpose") (param $src i32) (param $dst i32) (param $R i32) (param $C i32)
    (local $r i32) (local $c i32) (local $row i32) (local $stride i32) (local $out i32)
    (local $a v128) (local $b v128) (local $x v128) (local $y v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $stride (i32.shl (local.get $C) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $R)))
        (local.set $c (i32.const 0))
        (local.set $row (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $stride))))
        (loop $cols
          ;; a 4x4 block: rows r..r+3, columns c..c+3
          (local.set $a (v128.load (local.get $row)))
          (local.set $b (v128.load (i32.add (local.get $row) (local.get $stride))))
          (local.set $x (v128.load (i32.add (local.get $row) (i32.shl (local.get $stride) (i32.const 1)))))
          (local.set $y (v128.load (i32.add (local.get $row) (i32.mul (local.get $stride) (i32.const 3)))))
          (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $b)))
          (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $b)))
          (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x) (local.get $y)))
          (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x) (local.get $y)))
          ;; dst[(c + k) * R + r]
          (local.set $out (i32.add (local.get $dst)
            (i32.shl (i32.add (i32.mul (local.get $c) (local.get $R)) (local.get $r)) (i32.const 2))))
          (v128.store (local.get $out)
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
          (local.set $out (i32.add (local.get $out) (i32.shl (local.get $R) (i32.const 2))))
          (v128.store (local.get $out)
            (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
          (local.set $out (i32.add (local.get $out) (i32.shl (local.get $R) (i32.const 2))))
          (v128.store (local.get $out)
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
          (local.set $out (i32.add (local.get $out) (i32.shl (local.get $R) (i32.const 2))))
          (v128.store (local.get $out)
            (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
          (local.set $row (i32.add (local.get $row) (i32.const 16)))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br_if $cols (i32.lt_u (local.get $c) (local.get $C))))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rows))))
  (func (export "accumulate") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (v128.store (local.get $dst)
          (f32x4.add (v128.load (local.get $dst)) (v128.load (local.get $src))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (br $each))))
)
