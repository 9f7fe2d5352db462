 N123 G1 X1*45
N124 G1 Y2 F600*99
G1 X3 ; move right
(a parenthesised comment) G1 X4
G1 (inline) X5 E0.1
;TYPE:Perimeter
;LAYER_CHANGE
;Z:0.2
G1 X6 Y6 E0.2
;TYPE:Solid infill
G1 X7 Y7 E0.2

G1 x8 y8
