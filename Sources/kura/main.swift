import KuraCore; print(KuraVersion.current)
