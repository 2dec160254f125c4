import ArgumentParser
print("embedkit")
