;; mtgraph's FlatAdam update (src/backend/adam-update-kernel.ts) for one variable, run on
;; tfjs-backend-wasm's own memory (imported), with the arithmetic of FlatAdam's tensor operations
;; in their order, each rounded to float32 (the same weights and moments, bit for bit):
;;   m' = m b1 + g nb1            v' = v b2 + (g g) nb2          (nb = 1 - b, rounded to float32)
;;   step = ((m' / c1) / (sqrt(v' / c2) + eps)) nlr             (c = 1 - b^t, nlr = -lr)
;;   p' = step + p
;; update(p, g, m, v, pOut, mOut, vOut, n, b1, nb1, b2, nb2, c1, c2, eps, nlr) -> sum of step * 0
;; (NaN exactly when a step value is NaN or infinite). Addresses are byte addresses of float32
;; arrays; n is any count (four at a time, then one at a time).
(module
  (import "env" "memory" (memory 1))
  (func (export "update")
    (param $p i32) (param $g i32) (param $m i32) (param $v i32)
    (param $pOut i32) (param $mOut i32) (param $vOut i32) (param $n i32)
    (param $b1 f32) (param $nb1 f32) (param $b2 f32) (param $nb2 f32)
    (param $c1 f32) (param $c2 f32) (param $eps f32) (param $nlr f32)
    (result f32)
    (local $gv v128) (local $mv v128) (local $vv v128) (local $step v128) (local $probe v128)
    (local $gs f32) (local $ms f32) (local $vs f32) (local $ss f32) (local $tail f32)
    (block $simd_done
      (loop $simd
        (br_if $simd_done (i32.lt_s (local.get $n) (i32.const 4)))
        (local.set $gv (v128.load align=4 (local.get $g)))
        (local.set $mv (f32x4.add
          (f32x4.mul (v128.load align=4 (local.get $m)) (f32x4.splat (local.get $b1)))
          (f32x4.mul (local.get $gv) (f32x4.splat (local.get $nb1)))))
        (local.set $vv (f32x4.add
          (f32x4.mul (v128.load align=4 (local.get $v)) (f32x4.splat (local.get $b2)))
          (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (f32x4.splat (local.get $nb2)))))
        (v128.store align=4 (local.get $mOut) (local.get $mv))
        (v128.store align=4 (local.get $vOut) (local.get $vv))
        (local.set $step (f32x4.mul
          (f32x4.div
            (f32x4.div (local.get $mv) (f32x4.splat (local.get $c1)))
            (f32x4.add
              (f32x4.sqrt (f32x4.div (local.get $vv) (f32x4.splat (local.get $c2))))
              (f32x4.splat (local.get $eps))))
          (f32x4.splat (local.get $nlr))))
        (local.set $probe (f32x4.add (local.get $probe)
          (f32x4.mul (local.get $step) (f32x4.splat (f32.const 0)))))
        (v128.store align=4 (local.get $pOut)
          (f32x4.add (local.get $step) (v128.load align=4 (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (local.set $m (i32.add (local.get $m) (i32.const 16)))
        (local.set $v (i32.add (local.get $v) (i32.const 16)))
        (local.set $pOut (i32.add (local.get $pOut) (i32.const 16)))
        (local.set $mOut (i32.add (local.get $mOut) (i32.const 16)))
        (local.set $vOut (i32.add (local.get $vOut) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (br $simd)))
    (block $tail_done
      (loop $scalar
        (br_if $tail_done (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $gs (f32.load (local.get $g)))
        (local.set $ms (f32.add
          (f32.mul (f32.load (local.get $m)) (local.get $b1))
          (f32.mul (local.get $gs) (local.get $nb1))))
        (local.set $vs (f32.add
          (f32.mul (f32.load (local.get $v)) (local.get $b2))
          (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $nb2))))
        (f32.store (local.get $mOut) (local.get $ms))
        (f32.store (local.get $vOut) (local.get $vs))
        (local.set $ss (f32.mul
          (f32.div
            (f32.div (local.get $ms) (local.get $c1))
            (f32.add (f32.sqrt (f32.div (local.get $vs) (local.get $c2))) (local.get $eps)))
          (local.get $nlr)))
        (local.set $tail (f32.add (local.get $tail) (f32.mul (local.get $ss) (f32.const 0))))
        (f32.store (local.get $pOut) (f32.add (local.get $ss) (f32.load (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $g (i32.add (local.get $g) (i32.const 4)))
        (local.set $m (i32.add (local.get $m) (i32.const 4)))
        (local.set $v (i32.add (local.get $v) (i32.const 4)))
        (local.set $pOut (i32.add (local.get $pOut) (i32.const 4)))
        (local.set $mOut (i32.add (local.get $mOut) (i32.const 4)))
        (local.set $vOut (i32.add (local.get $vOut) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $scalar)))
    (f32.add (local.get $tail)
      (f32.add
        (f32.add (f32x4.extract_lane 0 (local.get $probe)) (f32x4.extract_lane 1 (local.get $probe)))
        (f32.add (f32x4.extract_lane 2 (local.get $probe)) (f32x4.extract_lane 3 (local.get $probe)))))))
