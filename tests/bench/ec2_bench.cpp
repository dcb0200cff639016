// SPDX-License-Identifier: Apache-2.0
/// \file
/// Benchmarks: serialising and signing one RunInstances request (target <= 20 us), and
/// parsing a 1,000-instance DescribeInstances page (target <= 20 ms). Prints the mean and
/// the best of several rounds; fails only on a gross regression (5x the target).

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "aws/ec2_api.h"
#include "aws/sigv4.h"
#include "core/time_format.h"

namespace {

using namespace autoscale;
using Clock = std::chrono::steady_clock;

/// This thread's CPU time: unlike wall time it does not count the time the (shared,
/// loaded) machine ran something else.
double threadCpuMicros() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

struct Timing {
    double wallMicros = 1e300; ///< Mean per call, best round.
    double cpuMicros = 1e300;  ///< Mean per call, best round.
};

/// Mean time per call of `fn` over `iterations`, best of `rounds`.
template <typename Fn>
Timing measure(int rounds, int iterations, Fn&& fn) {
    Timing best;
    for (int r = 0; r < rounds; ++r) {
        const auto start = Clock::now();
        const double cpuStart = threadCpuMicros();
        for (int i = 0; i < iterations; ++i)
            fn();
        const double cpu = threadCpuMicros() - cpuStart;
        const auto elapsed = std::chrono::duration<double, std::micro>(Clock::now() - start);
        best.wallMicros = std::min(best.wallMicros, elapsed.count() / iterations);
        best.cpuMicros = std::min(best.cpuMicros, cpu / iterations);
    }
    return best;
}

aws::RunInstancesRequest typicalRequest() {
    aws::RunInstancesRequest r;
    r.imageId = "ami-0abcdef1234567890";
    r.instanceType = "c6i.2xlarge";
    r.keyName = "drone-ci";
    r.subnetId = "subnet-0123456789abcdef0";
    r.securityGroupIds = {"sg-0123456789abcdef0", "sg-0fedcba9876543210"};
    r.userData = std::string(2048, 'u'); // A cloud-init file of typical size.
    r.iamProfileArn = "arn:aws:iam::123456789012:instance-profile/drone-runner";
    r.deviceName = "/dev/sda1";
    r.volumeSize = 64;
    r.volumeType = "gp3";
    r.volumeIops = 4000;
    r.volumeThroughput = 250;
    r.spot = true;
    r.tags = {{"Name", "agent-Ab3dE5gH"},
              {"drone-autoscaler:pool", "default"},
              {"drone-autoscaler:server", "agent-Ab3dE5gH"},
              {"drone-autoscaler:owner", "drone.example.com"},
              {"team", "platform"}};
    r.clientToken = "agent-Ab3dE5gH-0123456789abcdef";
    return r;
}

std::string describePage(int count) {
    std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeInstancesResponse "
                      "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId>"
                      "<reservationSet>";
    for (int i = 0; i < count; ++i) {
        std::array<char, 32> buffer{};
        (void)std::snprintf(buffer.data(), buffer.size(), "i-%017x", static_cast<unsigned>(i));
        const std::string id = buffer.data();
        xml += std::string("<item><reservationId>r-") + id +
               "</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet><item>"
               "<instanceId>" +
               id +
               "</instanceId><imageId>ami-0abcdef1234567890</imageId><instanceState><code>16"
               "</code><name>running</name></instanceState><privateDnsName>ip-10-0-1-23.ec2."
               "internal</privateDnsName><dnsName>ec2-54-12-34-56.compute.amazonaws.com"
               "</dnsName><reason/><keyName>drone-ci</keyName><amiLaunchIndex>0"
               "</amiLaunchIndex><productCodes/><instanceType>c6i.2xlarge</instanceType>"
               "<launchTime>2024-05-01T10:00:00.000Z</launchTime><placement>"
               "<availabilityZone>us-east-1a</availabilityZone><groupName/><tenancy>default"
               "</tenancy></placement><monitoring><state>disabled</state></monitoring>"
               "<subnetId>subnet-0123456789abcdef0</subnetId><vpcId>vpc-0123456789abcdef0"
               "</vpcId><privateIpAddress>10.0.1.23</privateIpAddress><ipAddress>54.12.34.56"
               "</ipAddress><sourceDestCheck>true</sourceDestCheck><groupSet><item><groupId>"
               "sg-0123456789abcdef0</groupId><groupName>workers</groupName></item></groupSet>"
               "<architecture>x86_64</architecture><rootDeviceType>ebs</rootDeviceType>"
               "<rootDeviceName>/dev/sda1</rootDeviceName><blockDeviceMapping><item><deviceName>"
               "/dev/sda1</deviceName><ebs><volumeId>vol-0123456789abcdef0</volumeId><status>"
               "attached</status><attachTime>2024-05-01T10:00:01.000Z</attachTime>"
               "<deleteOnTermination>true</deleteOnTermination></ebs></item>"
               "</blockDeviceMapping><virtualizationType>hvm</virtualizationType><clientToken>"
               "agent-0123</clientToken><tagSet><item><key>Name</key><value>agent-Ab3dE5gH"
               "</value></item><item><key>drone-autoscaler:pool</key><value>default</value>"
               "</item><item><key>drone-autoscaler:server</key><value>agent-Ab3dE5gH</value>"
               "</item><item><key>drone-autoscaler:owner</key><value>drone.example.com</value>"
               "</item></tagSet><hypervisor>xen</hypervisor><networkInterfaceSet><item>"
               "<networkInterfaceId>eni-0123456789abcdef0</networkInterfaceId><subnetId>"
               "subnet-0123456789abcdef0</subnetId><privateIpAddress>10.0.1.23"
               "</privateIpAddress><association><publicIp>54.12.34.56</publicIp></association>"
               "</item></networkInterfaceSet><ebsOptimized>false</ebsOptimized>"
               "<metadataOptions><state>applied</state><httpTokens>required</httpTokens>"
               "<httpPutResponseHopLimit>1</httpPutResponseHopLimit><httpEndpoint>enabled"
               "</httpEndpoint></metadataOptions></item></instancesSet></item>";
    }
    return xml + "</reservationSet><nextToken>next</nextToken></DescribeInstancesResponse>";
}

} // namespace

int main() {
    const aws::RunInstancesRequest request = typicalRequest();
    const aws::SigningParams params{.accessKeyId = "AKIDEXAMPLE",
                                    .secretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                    .sessionToken = "FQoGZXIvYXdzEXAMPLETOKEN",
                                    .region = "us-east-1",
                                    .service = "ec2",
                                    .time = detail::fromUnixSeconds(1440938160)};
    std::size_t sink = 0;
    aws::SigningKeyCache keys; // As Ec2Client keeps one: one HMAC chain per day.
    const auto signOnce = [&](aws::SigningKeyCache* cache) {
        HttpRequest http{
                .method = "POST",
                .url = "https://ec2.us-east-1.amazonaws.com/",
                .headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
                .body = aws::formBody("RunInstances", aws::kEc2ApiVersion, aws::toParams(request))};
        aws::signRequest(http, params, cache);
        sink += http.headers.back().second.size();
    };
    const Timing sign = measure(5, 20000, [&] { signOnce(&keys); });
    const Timing cold = measure(5, 20000, [&] { signOnce(nullptr); });

    const std::string page = describePage(1000);
    std::size_t parsed = 0;
    const Timing parse = measure(5, 10, [&] {
        const auto result = aws::parseDescribeInstances(page);
        parsed = result ? result->instances.size() : 0;
    });
    if (parsed != 1000) {
        (void)std::fprintf(stderr, "parse failed: %zu instances\n", parsed);
        return 1;
    }
    std::printf("runinstances_serialize_and_sign_us cpu=%.2f wall=%.2f target=20 "
                "(without the signing-key cache: cpu=%.2f)\n",
                sign.cpuMicros, sign.wallMicros, cold.cpuMicros);
    std::printf("describe_instances_parse_1000_ms cpu=%.3f wall=%.3f target=20 page_bytes=%zu\n",
                parse.cpuMicros / 1000.0, parse.wallMicros / 1000.0, page.size());
    std::printf("(checksum %zu)\n", sink);
    const bool gross = sign.cpuMicros > 100.0 || parse.cpuMicros > 100000.0;
    return gross ? 1 : 0;
}
