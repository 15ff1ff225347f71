print("iocnode")
