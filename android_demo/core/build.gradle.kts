// Platform-independent: manifest parsing, npy goldens, post-processing, smoothing,
// parity, and the JNI binding's Kotlin side. No Android dependency, so its JUnit
// tests run on any JVM (CI compiles it with kotlinc, see tests/android_demo/).
plugins {
    id("org.jetbrains.kotlin.jvm")
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    testImplementation("junit:junit:4.13.2")
}

tasks.test {
    // ./gradlew :core:test -Pbundle=app/src/main/assets/edge_affect/<model>/executorch-fp32 [-PjniLib=/abs/libedgeaffect_jni.so]
    project.findProperty("bundle")?.let { systemProperty("edgeaffect.bundle", rootProject.file(it.toString()).absolutePath) }
    project.findProperty("jniLib")?.let { systemProperty("edgeaffect.jni.lib", it.toString()) }
}
