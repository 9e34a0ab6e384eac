# multiprocessing with each start method, a Queue and a shared Value: fork, exec, unix sockets
# with fd passing (forkserver), shared memory and semaphores in /dev/shm.
import multiprocessing as mp
def sq(x): return x*x
if __name__ == "__main__":
    for method in ("fork", "spawn", "forkserver"):
        ctx = mp.get_context(method)
        with ctx.Pool(2) as p: print(method, sum(p.map(sq, range(100))))
    q = mp.Queue(); pr = mp.Process(target=q.put, args=(42,)); pr.start(); print(q.get()); pr.join()
    v = mp.Value("i", 0)
    with v.get_lock(): v.value += 1
    print("ok", v.value)
