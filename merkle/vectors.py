# An independent implementation of the twinnet-merkle rules (docs/merkle.md) in
# Python, whose output is the test vectors that merkle/src/tests.rs checks:
#   python3 merkle/vectors.py
from hashlib import blake2b
def H(b): return blake2b(b, digest_size=32).digest()
def leaf(b): return H(b'\x00'+b)
def node(l,r): return H(b'\x01'+l+r)
def root(hs):
    while len(hs)>1:
        hs=[node(hs[i],hs[i+1]) if i+1<len(hs) else hs[i] for i in range(0,len(hs),2)]
    return hs[0]
def prove(hs,i):
    steps=[]
    while len(hs)>1:
        j=i^1
        if j<len(hs): steps.append((hs[j].hex(),'Left' if i%2 else 'Right'))
        hs=[node(hs[k],hs[k+1]) if k+1<len(hs) else hs[k] for k in range(0,len(hs),2)]
        i//=2
    return steps
for n in [1,2,3,4,5,7,8,9,16,17]:
    print(n, root([leaf(bytes([i])) for i in range(n)]).hex())
print("leaf(empty)", leaf(b'').hex())
print("proof 5 of 7", prove([leaf(bytes([i])) for i in range(7)],5))
print("proof 6 of 7", prove([leaf(bytes([i])) for i in range(7)],6))
