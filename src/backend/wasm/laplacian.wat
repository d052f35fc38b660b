;; mtgraph's graph-Laplacian kernel, run on tfjs-backend-wasm's own memory (imported), so it reads
;; the coupled weights where they live and writes the gradient into tensors tfjs allocated.
;; Compiled by `npm run build:wasm` (scripts/build-wasm.ts, wabt) into laplacian.wasm.ts.
;;
;; laplacian(plan, rows, n) -> value
;;   For one piece (a kernel or a bias) of every coupled row, each `n` float32 long:
;;     g_i = 2 * sum_j L_ij x_j          (written, the penalty's gradient)
;;     value = sum_i <x_i, sum_j L_ij x_j>  (returned, the penalty's value)
;;   `plan` (byte address, 4-byte words) lists, for each of `rows` rows (rows >= 1):
;;     g_i, x_i (byte addresses), count, then `count` pairs (x_j byte address, L_ij as f32):
;;   only the non-zero entries of L, so a row costs its neighbours, not every row.
;;   Columns go 16 at a time (four f32x4 accumulators per row), then one at a time for the rest.
(module
  (import "env" "memory" (memory 1))
  (func (export "laplacian") (param $plan i32) (param $rows i32) (param $n i32) (result f32)
    (local $off i32) (local $end16 i32) (local $end i32)
    (local $p i32) (local $r i32) (local $cnt i32)
    (local $g i32) (local $xi i32) (local $xj i32) (local $v v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $s0 v128) (local $s1 v128)
    (local $a f32) (local $tail f32) (local $s v128)
    (local.set $end16 (i32.shl (i32.and (local.get $n) (i32.const -16)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $s0 (f32x4.splat (f32.const 0)))
    (local.set $s1 (f32x4.splat (f32.const 0)))
    ;; 16 columns at a time
    (block $done16
      (loop $cols
        (br_if $done16 (i32.ge_u (local.get $off) (local.get $end16)))
        (local.set $p (local.get $plan))
        (local.set $r (local.get $rows))
        (loop $row
          (local.set $g (i32.add (i32.load (local.get $p)) (local.get $off)))
          (local.set $xi (i32.add (i32.load offset=4 (local.get $p)) (local.get $off)))
          (local.set $cnt (i32.load offset=8 (local.get $p)))
          (local.set $p (i32.add (local.get $p) (i32.const 12)))
          (local.set $a0 (f32x4.splat (f32.const 0)))
          (local.set $a1 (f32x4.splat (f32.const 0)))
          (local.set $a2 (f32x4.splat (f32.const 0)))
          (local.set $a3 (f32x4.splat (f32.const 0)))
          (block $nzdone
            (loop $nz
              (br_if $nzdone (i32.eqz (local.get $cnt)))
              (local.set $xj (i32.add (i32.load (local.get $p)) (local.get $off)))
              (local.set $v (f32x4.splat (f32.load offset=4 (local.get $p))))
              (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $v) (v128.load align=4 (local.get $xj)))))
              (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $v) (v128.load offset=16 align=4 (local.get $xj)))))
              (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $v) (v128.load offset=32 align=4 (local.get $xj)))))
              (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $v) (v128.load offset=48 align=4 (local.get $xj)))))
              (local.set $p (i32.add (local.get $p) (i32.const 8)))
              (local.set $cnt (i32.sub (local.get $cnt) (i32.const 1)))
              (br $nz)))
          (v128.store align=4 (local.get $g) (f32x4.add (local.get $a0) (local.get $a0)))
          (v128.store offset=16 align=4 (local.get $g) (f32x4.add (local.get $a1) (local.get $a1)))
          (v128.store offset=32 align=4 (local.get $g) (f32x4.add (local.get $a2) (local.get $a2)))
          (v128.store offset=48 align=4 (local.get $g) (f32x4.add (local.get $a3) (local.get $a3)))
          (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (v128.load align=4 (local.get $xi)) (local.get $a0))))
          (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (v128.load offset=16 align=4 (local.get $xi)) (local.get $a1))))
          (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (v128.load offset=32 align=4 (local.get $xi)) (local.get $a2))))
          (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (v128.load offset=48 align=4 (local.get $xi)) (local.get $a3))))
          (local.set $r (i32.sub (local.get $r) (i32.const 1)))
          (br_if $row (local.get $r)))
        (local.set $off (i32.add (local.get $off) (i32.const 64)))
        (br $cols)))
    ;; the last n mod 16 columns, one at a time
    (block $donetail
      (loop $cols1
        (br_if $donetail (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $p (local.get $plan))
        (local.set $r (local.get $rows))
        (loop $row1
          (local.set $g (i32.add (i32.load (local.get $p)) (local.get $off)))
          (local.set $xi (i32.add (i32.load offset=4 (local.get $p)) (local.get $off)))
          (local.set $cnt (i32.load offset=8 (local.get $p)))
          (local.set $p (i32.add (local.get $p) (i32.const 12)))
          (local.set $a (f32.const 0))
          (block $nzdone1
            (loop $nz1
              (br_if $nzdone1 (i32.eqz (local.get $cnt)))
              (local.set $a (f32.add (local.get $a)
                (f32.mul (f32.load offset=4 (local.get $p)) (f32.load (i32.add (i32.load (local.get $p)) (local.get $off))))))
              (local.set $p (i32.add (local.get $p) (i32.const 8)))
              (local.set $cnt (i32.sub (local.get $cnt) (i32.const 1)))
              (br $nz1)))
          (f32.store (local.get $g) (f32.add (local.get $a) (local.get $a)))
          (local.set $tail (f32.add (local.get $tail) (f32.mul (f32.load (local.get $xi)) (local.get $a))))
          (local.set $r (i32.sub (local.get $r) (i32.const 1)))
          (br_if $row1 (local.get $r)))
        (local.set $off (i32.add (local.get $off) (i32.const 4)))
        (br $cols1)))
    (local.set $s (f32x4.add (local.get $s0) (local.get $s1)))
    (f32.add
      (f32.add
        (f32.add (f32x4.extract_lane 0 (local.get $s)) (f32x4.extract_lane 1 (local.get $s)))
        (f32.add (f32x4.extract_lane 2 (local.get $s)) (f32x4.extract_lane 3 (local.get $s))))
      (local.get $tail))))
